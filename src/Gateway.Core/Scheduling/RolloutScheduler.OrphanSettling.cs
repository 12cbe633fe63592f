namespace IotOta.Gateway.Scheduling;

/// <summary>
/// What the members of a group hold is known from their progress reports, and protocol v2 devices report at most every
/// few seconds while receiving: right after a device left, the gateway may not know that its group mates already hold
/// a packet the gone device was to notice (fault suite device-kill9 on protocol v2: originals re-sent about a second
/// after the kill to devices whose next report showed they held them). So an orphaned delivery <em>settles</em> first:
/// it is planned again only once every online member of its group has reported since the departure (devices report at
/// once when a group mate leaves their member list), or <see cref="SchedulerOptions.OrphanSettle"/> passed; and a
/// member known to hold it then ends it (<see cref="KnownHeld"/>) instead of an original going out again.
/// </summary>
public sealed partial class RolloutScheduler
{
    /// <summary>How often a delivery waiting for its group's reports is looked at again.</summary>
    private static readonly TimeSpan SettlePoll = TimeSpan.FromMilliseconds(250);

    /// <summary>When each device last told the gateway what it holds (<see cref="OnReport"/>).</summary>
    private readonly Dictionary<uint, long> _reportedAt = new();

    /// <summary>Set by the engine: whether a device is known to hold a packet (its reports, repair requests and
    /// notices). Called under the scheduler's lock: it must not call back into the scheduler.</summary>
    public Func<uint, int, bool>? KnownHeld { get; set; }

    /// <summary>Orphaned deliveries ended because a member of their group was known to hold the packet once it
    /// reported (nothing was sent again).</summary>
    public long OrphansHeld { get; private set; }

    /// <summary>The device told the gateway what it holds (a progress report or a repair request).</summary>
    public void OnReport(uint node)
    {
        lock (_gate) _reportedAt[node] = _time.GetTimestamp();
    }

    /// <summary>Under the gate: true when (g, k) is not orphaned, or every online member of its group reported since
    /// the departure, or <see cref="SchedulerOptions.OrphanSettle"/> passed since it.</summary>
    private bool Settled(GroupPlan g, int k)
    {
        if (!_orphans.TryGetValue((g, k), out var o)) return true;
        if (_time.GetTimestamp() - o.Since >= (long)(_options.OrphanSettle.TotalSeconds * _time.TimestampFrequency)) return true;
        foreach (var m in g.Members)
            if (!_reportedAt.TryGetValue(m.NodeId, out long at) || at < o.Since) return false;
        return true;
    }

    /// <summary>Under the gate, from ExpireTimeouts: an orphaned delivery whose group has not reported yet gets a new
    /// deadline (the next look, at most the end of its settling) instead of being planned again; true when it waits.</summary>
    private bool WaitForReports(GroupPlan g, int k, long now)
    {
        if (Settled(g, k)) return false;
        long settleEnd = _orphans[(g, k)].Since + (long)(_options.OrphanSettle.TotalSeconds * _time.TimestampFrequency);
        long again = Math.Min(settleEnd, now + (long)(SettlePoll.TotalSeconds * _time.TimestampFrequency));
        g.Deadline[k] = again;
        _deadlines.Enqueue((g, k), again);
        return true;
    }

    /// <summary>Under the gate, from Replan: an orphaned delivery that a member of its group is known to hold is done
    /// (the member serves its group; their repair requests become donor orders) instead of planned again.</summary>
    private bool EndHeldOrphan(GroupPlan g, int k)
    {
        if (KnownHeld is not { } held || !_orphans.ContainsKey((g, k))) return false;
        foreach (var m in g.Members)
        {
            if (!held(m.NodeId, k)) continue;
            OrphansHeld++;
            OnNotice(m.NodeId, k);
            return true;
        }
        return false;
    }
}
