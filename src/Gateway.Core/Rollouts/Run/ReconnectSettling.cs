using IotOta.Gateway.Fleet;
using IotOta.Gateway.Images;
using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Rollouts.Run;

/// <summary>
/// Waits for devices to tell what they hold before the plan counts on them: after the gateway's broker link came back
/// (the receipt notices the outage swallowed must not make packets go out again), and for each device that came (back)
/// online mid-rollout (a device back from a partition or a reboot is not sent originals of packets it already has).
/// Either wait ends at <see cref="RolloutOptions.ReconnectSettle"/>. Thread-safe.
/// </summary>
internal sealed class ReconnectSettling(RolloutOptions options, DeviceRegistry registry, FirmwareImage image, RolloutTargets targets, TimeProvider time)
{
    private readonly object _gate = new();
    // A phase resumed by a restarted gateway starts settling: the devices may hold much of the image already.
    private bool _settling = options.Resumed;
    private long _settleStart = time.GetTimestamp();
    private readonly HashSet<uint> _reportedSinceReconnect = new();
    private readonly Dictionary<uint, long> _awaitingReport = new();
    private HashSet<uint>? _lastMembers;

    /// <summary>The broker link came back: nothing is planned until the devices reported (see <see cref="Holding"/>).</summary>
    public void LinkBack()
    {
        lock (_gate)
        {
            _settling = true;
            _reportedSinceReconnect.Clear();
            _settleStart = time.GetTimestamp();
        }
    }

    /// <summary>The node told what it holds; true when it was a rejoined device the plan waited for.</summary>
    public bool Reported(uint node)
    {
        lock (_gate)
        {
            if (_settling) _reportedSinceReconnect.Add(node);
            return _awaitingReport.Remove(node);
        }
    }

    /// <summary>True while planning waits after a reconnect: some online target device that is still receiving has not
    /// reported and the settle time has not passed. The first call after it ended returns false and ends the wait;
    /// <paramref name="ended"/> is then true (the caller skips what whole groups hold).</summary>
    public bool Holding(out bool ended)
    {
        ended = false;
        HashSet<uint> waitFor;
        long start;
        lock (_gate)
        {
            if (!_settling) return false;
            waitFor = targets.Nodes();
            waitFor.ExceptWith(_reportedSinceReconnect);
            start = _settleStart;
        }
        // no target known yet (a gateway that just took over): wait for the fleet to show itself and report, up to the settle time
        bool waiting = time.GetElapsedTime(start) < options.ReconnectSettle && (waitFor.Count == 0 && targets.Nodes().Count == 0 || waitFor.Any(t =>
            registry.Get(t) is { Online: true } d && !d.Runs(image) && d.State != DeviceState.Failed && d.State != DeviceState.RolledBack));
        if (waiting) return true;
        lock (_gate) _settling = false;
        ended = true;
        return false;
    }

    /// <summary>True when some rejoined device waited out its settle time (the plan takes it again).</summary>
    public bool AnyExpired()
    {
        lock (_gate) return _awaitingReport.Values.Any(since => time.GetElapsedTime(since) >= options.ReconnectSettle);
    }

    /// <summary>The members without those that came (back) online and have not reported yet.</summary>
    public List<FleetMember> WithoutAwaiting(IReadOnlyList<FleetMember> members)
    {
        lock (_gate)
        {
            var now = time.GetTimestamp();
            if (_lastMembers != null)
            {
                foreach (var m in members)
                    if (!_lastMembers.Contains(m.NodeId) && !_awaitingReport.ContainsKey(m.NodeId)) _awaitingReport[m.NodeId] = now;
            }
            _lastMembers = members.Select(m => m.NodeId).ToHashSet();
            foreach (var (n, since) in _awaitingReport.ToList())
                if (!_lastMembers.Contains(n) || time.GetElapsedTime(since, now) >= options.ReconnectSettle) _awaitingReport.Remove(n);
            return members.Where(m => !_awaitingReport.ContainsKey(m.NodeId)).ToList();
        }
    }
}
