using IotOta.Gateway.Fleet;

namespace IotOta.Gateway.Scheduling;

/// <summary>Publish packet <see cref="Index"/> as an original to <see cref="Root"/>, naming <see cref="Relays"/>
/// (one device in each of some other groups) as its cross-group copy destinations. With <see cref="Tree"/> the
/// original carries FlagTree: the relays pass it on down the relay trees, and <see cref="Deep"/> are the devices the
/// gateway expects to receive it there (from their parents' tables), for registering the sends. With
/// <see cref="SilentRelays"/> it carries FlagSilentRelays: the relays that pass it to no other group send no notice
/// (RolloutScheduler.SilentRelays); <see cref="Silent"/> names them (every named relay, or a tree's leaves).</summary>
public sealed record SendOrder(int Index, FleetMember Root, IReadOnlyList<FleetMember> Relays)
{
    public bool Tree { get; init; }
    public bool SilentRelays { get; init; }
    public IReadOnlyList<FleetMember> Deep { get; init; } = Array.Empty<FleetMember>();
    /// <summary>The relays (named or deep) that send no notice: the gateway registers no send for them.</summary>
    public IReadOnlySet<uint> Silent { get; init; } = NoneSilent;

    private static readonly IReadOnlySet<uint> NoneSilent = new HashSet<uint>();
}
