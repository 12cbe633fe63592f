using IotOta.Gateway.Fleet;
using IotOta.Gateway.Images;
using IotOta.Gateway.Scheduling;

namespace IotOta.Gateway.Rollouts.Run;

/// <summary>
/// What devices are known to hold (<see cref="RolloutOptions.Held"/>) keeps the plan short: for each group, the packets
/// some member holds and nobody is bringing are marked delivered, and payload sent to a device that held it is counted
/// as resent.
/// </summary>
internal sealed class HeldSkipper(RolloutOptions options, RolloutScheduler scheduler, DestinationList destinations, RolloutTargets targets,
    Packetizer packetizer, RolloutCounters counters, TimeProvider time)
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);
    private long _versionSeen = -1, _lastPass;

    /// <summary>Counts the packet's payload as resent when the device was known to hold it.</summary>
    public void CountResent(uint node, int index, bool repair)
    {
        if (options.Held is { } held && held(node, index)) counters.Resent(packetizer.PayloadLength(index), repair);
    }

    /// <summary>At most every 250 ms, when devices reported something new: skip what whole groups hold.</summary>
    public void IfLearned()
    {
        if (options.Held == null || options.HeldVersion == null || time.GetElapsedTime(_lastPass) < Interval) return;
        _lastPass = time.GetTimestamp();
        long v = options.HeldVersion();
        if (v == _versionSeen) return;
        _versionSeen = v;
        Skip(targets.Admit(destinations.Members));
    }

    /// <summary>Skips what the target members hold now (after a reconnect settled), and restarts the 250 ms interval.</summary>
    public void Now()
    {
        Skip(targets.Admit(destinations.Members));
        _lastPass = time.GetTimestamp();
    }

    /// <summary>Marks delivered, for each group, the packets some member is known to hold and nobody is bringing (and
    /// those every member holds): only the rest is planned.
    /// A member that holds a packet is its group's source for it: the others repair from their peers first, so the
    /// gateway does not send it into the group again (after a gateway restart, a packet the root had passed on to part
    /// of its group before the kill would otherwise go out a second time). If that member leaves, the group's repair
    /// requests reach the gateway in the end.</summary>
    public void Skip(IReadOnlyList<FleetMember> members)
    {
        // A baseline plans nothing: what it streams is on its way, not skippable.
        if (options.Held is not { } held || options.Baseline != null) return;
        if (options.Health is { } health) members = members.Where(m => !health.HasFailed(m.NodeId)).ToList();
        counters.Skip(scheduler.SkipHeld(members, (node, k) => held(node, k)));
    }
}
