namespace IotOta.Gateway.Rollouts;

/// <summary>A target device that is offline and not yet updated while the rollout's window is open: pending, not
/// failed. It resumes when it comes back (from its persisted bitmap, its group serving the rest); at the window's end
/// the rollout "ended with N pending".</summary>
/// <param name="LastSeen">When the gateway last heard from it (presence, last will or progress report).</param>
/// <param name="HeldPackets">Packets of the image it was known to hold when it went.</param>
public sealed record PendingDevice(uint NodeId, int GroupId, DateTimeOffset LastSeen, int HeldPackets);
