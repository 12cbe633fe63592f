namespace IotOta.Gateway.Scheduling;

/// <summary>
/// Devices that go offline holding work (a fleet process killed, power lost): a delivery whose owner — or a device it
/// was to come through — left is <em>orphaned</em>, not planned again at once. What the gone device received it may
/// already have passed on (relay copies go out first, then member copies), and it may come back soon with the packet
/// in flash; sending the original again at once repeats it on the first network (fault suite device-kill9: the
/// re-sent bytes were originals re-planned within half a second of the kill). An orphaned delivery ends:
/// <list type="bullet">
/// <item>done, when an online member of its group is known to hold the packet (<see cref="SkipHeld"/>): the group's
/// members repair from that holder (their repair requests become donor orders), the gateway sends nothing;</item>
/// <item>done, when its notice comes after all (the device forwarded before it left, a relay got its copy);</item>
/// <item>planned again when the device that left is back and has reported what it holds
/// (<see cref="ReleaseReturned"/>): what it holds was skipped first, the rest is sent again;</item>
/// <item>planned again at its own deadline otherwise — max(MinNoticeTimeout, 4 × the expected time from the measured
/// overheads), set when it was planned — so the wait for a device is bounded by the measured overheads, and by the
/// rollout's window (nothing is planned after the run ends). Packets no online member holds then go out once, for
/// every group that still needs them.</item>
/// </list>
/// An orphaned delivery is planned again (at its deadline, with its returning device or along with another group's
/// delivery of the packet) only once it has <em>settled</em> (RolloutScheduler.OrphanSettling): every online member of
/// its group reported what it holds since the departure (devices report at once when a group mate leaves their member
/// list), or <see cref="SchedulerOptions.OrphanSettle"/> passed. A member known to hold the packet by then ends it.
/// The gone device's load is released at once (it has no queue any more); it gets no strike for orphaned deliveries.
/// Before an orphaned delivery is planned again (an original re-sent on the first network), <see cref="CrossGroupRescue"/>
/// may bring the packet into the group from a device of another group that holds it (a cross-group donor order, see
/// RepairRequest's target tail): then the delivery waits once more, one MinNoticeTimeout, for the group member the
/// order names to notice it; only if that notice does not come is it planned again.
/// </summary>
public sealed partial class RolloutScheduler
{
    /// <summary>Orphaned deliveries → the device that left (owner, or a device the packet was to come through), and
    /// whether the owner's load was released already (the owner is the device that left).</summary>
    private readonly Dictionary<(GroupPlan G, int K), (uint Departed, bool LoadReleased, long Since)> _orphans = new();

    /// <summary>Orphaned deliveries a cross-group donor order was made for (each at most once).</summary>
    private readonly HashSet<(GroupPlan G, int K)> _rescued = new();

    /// <summary>Set by the engine: (group, packet) → true when it ordered a device of another group that holds the
    /// packet to send it to an online member of that group (which copies it on and sends the notice). Called under the
    /// scheduler's lock: it must not call back into the scheduler.</summary>
    public Func<int, int, bool>? CrossGroupRescue { get; set; }

    /// <summary>Orphaned deliveries brought into their group by a cross-group donor order instead of planned again (the
    /// order was made; its notice ends the delivery).</summary>
    public long OrphansRescued { get; private set; }

    /// <summary>Deliveries orphaned so far because a device holding them went offline.</summary>
    public long DeliveriesOrphaned { get; private set; }

    /// <summary>Orphaned deliveries planned again (at their deadline, their device back without the packet, or
    /// withdrawn); the others ended done (a member held the packet, or the notice came after all).</summary>
    public long OrphansReplanned { get; private set; }

    /// <summary>Deliveries orphaned now, waiting for a holder, their device's return or their deadline.</summary>
    public int OrphanCount
    {
        get { lock (_gate) return _orphans.Count; }
    }

    /// <summary>Under the gate: the node left the destination list. Its own in-flight deliveries and every delivery
    /// that was to come through it (down relay trees too) wait instead of being planned again at once.</summary>
    private void OrphanAllOf(uint node)
    {
        var via = new HashSet<uint> { node };
        foreach (var g in _groups.Values)
        {
            for (int k = 0; k < _chunkCount; k++)
            {
                if (g.Status[k] != InFlight || (g.Owner[k] != node && g.Via[k] != node)) continue;
                // a silent relay settling (RolloutScheduler.SilentRelays) has its copy: only its own departure orphans it
                if (g.Owner[k] != node && g.SettleAt[k] != 0) continue;
                Orphan(g, k, node);
                // relays further down the tree that were to get the packet through this delivery's owner
                via.Clear();
                via.Add(node);
                via.Add(g.Owner[k]);
                bool changed = true;
                while (changed)
                {
                    changed = false;
                    foreach (var h in _groups.Values)
                    {
                        if (h.Status[k] != InFlight || _orphans.ContainsKey((h, k)) || !via.Contains(h.Via[k]) || h.SettleAt[k] != 0) continue;
                        via.Add(h.Owner[k]);
                        Orphan(h, k, node);
                        changed = true;
                    }
                }
            }
        }
        if (_loads.TryGetValue(node, out DeviceLoad? load))
        {
            load.InFlight = 0;
            load.InFlightBytes = 0;
            load.DeepBytes = 0;
            load.BusyUntil = 0;
        }
    }

    private void Orphan(GroupPlan g, int k, uint departed)
    {
        // a live owner (a relay whose root left) keeps its load until the delivery ends; the gone one has none
        if (_orphans.TryGetValue((g, k), out var o))
        {
            // orphaned through its root before, and now its owner left too
            if (g.Owner[k] == departed && !o.LoadReleased) _orphans[(g, k)] = (o.Departed, true, o.Since);
            return;
        }
        _orphans[(g, k)] = (departed, g.Owner[k] == departed, _time.GetTimestamp());
        DeliveriesOrphaned++;
    }

    /// <summary>Under the gate, from Release: the delivery ends; true when its load was released already (its owner
    /// is the device that left).</summary>
    private bool EndOrphan(GroupPlan g, int k)
    {
        _rescued.Remove((g, k));
        return _orphans.Remove((g, k), out var o) && o.LoadReleased;
    }

    /// <summary>Under the gate, from Replan: an orphaned delivery about to be planned again is first offered to
    /// <see cref="CrossGroupRescue"/> (once); true when an order went out: it stays orphaned with a new deadline.</summary>
    private bool TryRescue(GroupPlan g, int k)
    {
        if (EndHeldOrphan(g, k)) return true;
        if (CrossGroupRescue is not { } rescue || !_orphans.ContainsKey((g, k)) || _rescued.Contains((g, k))) return false;
        if (!rescue(g.Id, k)) return false;
        _rescued.Add((g, k));
        OrphansRescued++;
        g.Deadline[k] = _time.GetTimestamp() + (long)(_options.MinNoticeTimeout.TotalSeconds * _time.TimestampFrequency);
        _deadlines.Enqueue((g, k), g.Deadline[k]);
        return true;
    }

    private bool IsOrphan(GroupPlan g, int k) => _orphans.ContainsKey((g, k));

    /// <summary>Under the gate, from Replan: packet k goes out again for some group, so the orphaned deliveries of k
    /// whose owner is gone go with it — one original for every group that needs it instead of one per deadline (fault
    /// suite device-kill9: a packet re-sent for one group at a returning device's report went again a second later for
    /// another group at its deadline). A delivery whose owner is alive (a relay whose root left) may still notice: it
    /// keeps waiting.</summary>
    private void PullOrphansOf(int k)
    {
        if (_orphans.Count == 0) return;
        foreach (var (key, o) in _orphans.Where(e => e.Key.K == k && e.Value.LoadReleased).ToList())
            if (_orphans.ContainsKey(key) && key.G.Status[k] == InFlight && !_rescued.Contains(key) && Settled(key.G, k)) Replan(key.G, k);
    }

    /// <summary>Devices that left and are members again (they came back and reported what they hold: call after
    /// <see cref="UpdateFleet"/> and <see cref="SkipHeld"/>): the deliveries orphaned by them that no holder ended are
    /// planned again now instead of at their deadline. Returns how many.</summary>
    public int ReleaseReturned()
    {
        lock (_gate)
        {
            if (_orphans.Count == 0) return 0;
            // a delivery a cross-group order was made for waits for that order's notice or its deadline
            var back = _orphans.Where(o => _members.ContainsKey(o.Value.Departed) && o.Key.G.Status[o.Key.K] == InFlight && !_rescued.Contains(o.Key)
                    && Settled(o.Key.G, o.Key.K))
                .Select(o => o.Key).ToList();
            // one Replan may take others of the same packet along (PullOrphansOf): each only once
            foreach (var (g, k) in back)
                if (_orphans.ContainsKey((g, k)) && g.Status[k] == InFlight) Replan(g, k);
            return back.Count;
        }
    }
}
