using IotOta.Gateway.Fleet;

namespace IotOta.Gateway.Scheduling;

/// <summary>Publish packet <see cref="Index"/> as an original to <see cref="Root"/>, naming <see cref="Relays"/>
/// (one device in each of some other groups) as its cross-group copy destinations. With <see cref="Tree"/> the
/// original carries FlagTree: the relays pass it on down the relay trees, and <see cref="Deep"/> are the devices the
/// gateway expects to receive it there (from their parents' tables), for registering the sends. <see cref="Silent"/>
/// names the relays that send no notice (every named relay, or a tree's leaves; RolloutScheduler.SilentRelays): when
/// there are any, the original carries FlagSilentRelays (<see cref="SilentRelays"/>).</summary>
public sealed record SendOrder(int Index, FleetMember Root, IReadOnlyList<FleetMember> Relays)
{
    public bool Tree { get; init; }
    public IReadOnlyList<FleetMember> Deep { get; init; } = Array.Empty<FleetMember>();
    /// <summary>The relays (named or deep) that send no notice: the gateway registers no send for them.</summary>
    public IReadOnlySet<uint> Silent { get; init; } = NoneSilent;
    /// <summary>The original asks for silence (FlagSilentRelays): some relay is to send no notice.</summary>
    public bool SilentRelays => Silent.Count > 0;
    /// <summary>Down a relay tree: the interior relays are silent too (FlagSilentTree; they are in <see cref="Silent"/>).</summary>
    public bool SilentTree { get; init; }
    /// <summary>The relays (named, then deep) whose notices will come: the sends the gateway registers.</summary>
    public IEnumerable<FleetMember> NoticingRelays => Relays.Concat(Deep).Where(r => !Silent.Contains(r.NodeId));

    private static readonly IReadOnlySet<uint> NoneSilent = new HashSet<uint>();
}
