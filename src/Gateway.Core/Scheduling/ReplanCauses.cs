namespace IotOta.Gateway.Scheduling;

/// <summary>Deliveries planned again, by cause: an original's notice (<paramref name="TimedOut"/>) or a relay's notice
/// (<paramref name="RelayTimedOut"/>) did not come by its deadline, its device left the destination list or moved to
/// another group (<paramref name="Left"/>), or its order was withdrawn before it went out because its root or a relay
/// had gone offline (<paramref name="Withdrawn"/>). Each counts the deliveries of the subtree it took along.</summary>
public sealed record ReplanCauses(long TimedOut, long RelayTimedOut, long Left, long Withdrawn);
