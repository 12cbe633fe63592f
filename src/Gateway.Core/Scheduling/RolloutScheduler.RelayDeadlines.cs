namespace IotOta.Gateway.Scheduling;

/// <summary>
/// A relay's delivery is due soon after its root's notice: the root passes relay copies on before its member copies
/// and notices only when all are out, so by then the relay has its copy and needs only its own forwarding time. A relay
/// whose notice does not follow lost its copy (or died): its deadline moves from the original's (at least
/// MinNoticeTimeout, set when the root had not even received the packet) to max(RelayNoticeGrace, 2 × its expected
/// finish, and at least that finish plus the smoothed lateness of notices and four deviations: <see cref="NoticeTimer"/>)
/// after the root's notice, so the group gets the packet again seconds earlier.
/// Only originals that name their relays directly (up to 1 + MaxTargets groups) and relays whose rate a notice has
/// measured are tracked; down relay trees, and for unmeasured relays, the original deadlines stay.
/// </summary>
public sealed partial class RolloutScheduler
{
    /// <summary>(root, packet) → the groups whose delivery of that packet goes through that root's relay copies.</summary>
    private readonly Dictionary<(uint Root, int K), List<GroupPlan>> _relaysOf = new();

    private void RememberRelays(uint root, int k, List<GroupPlan> groups)
    {
        if (groups.Count > 0) _relaysOf[(root, k)] = groups;
    }

    private void ForgetRelays(uint root, int k) => _relaysOf.Remove((root, k));

    /// <summary>Called under the gate when node noticed packet k.</summary>
    private void TightenRelayDeadlines(uint node, int k, long now)
    {
        if (!_relaysOf.Remove((node, k), out List<GroupPlan>? groups)) return;
        foreach (GroupPlan g in groups)
        {
            if (g.Status[k] != InFlight || g.Via[k] != node || !_loads.TryGetValue(g.Owner[k], out DeviceLoad? load)) continue;
            // Its expected finish means something only once a notice measured its rate: a slow relay judged by the
            // prior rate timed out while still forwarding and its packet went out again (heterogeneous fleets).
            if (!_selector.IsMeasured(g.Owner[k])) continue;
            // Late is not lost: like every deadline it follows how late notices come (NoticeTimer), so a loaded host
            // does not turn slow relays into re-sent packets.
            double expected = _selector.FinishSeconds(load, 0);
            double seconds = _noticeTimer.TimeoutSeconds(expected, _options.RelayNoticeGrace.TotalSeconds, multiple: 2);
            long deadline = now + (long)(seconds * _time.TimestampFrequency);
            if (deadline >= g.Deadline[k]) continue;
            g.TightenedAt[k] = now;
            g.TightExpected[k] = expected;
            g.Deadline[k] = deadline;
            _deadlines.Enqueue((g, k), deadline);
        }
    }
}
