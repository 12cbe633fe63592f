using IotOta.Gateway.Fleet;

namespace IotOta.Gateway.Scheduling;

/// <summary>Planning: what to send now, packet by packet — per group (one original per group) or across groups (one
/// original for the fleet, relays named or down the relay trees) — and the bookkeeping of each assignment (load,
/// deadline).</summary>
public sealed partial class RolloutScheduler
{
    /// <summary>What to send now: orders in packet order, as far as devices have room.</summary>
    public IReadOnlyList<SendOrder> Plan()
    {
        lock (_gate)
        {
            long now = _time.GetTimestamp();
            ExpireTimeouts(now);
            // The remaining-time estimate sums every member's rate: refresh it at most every 50 ms.
            if (_time.GetElapsedTime(_remainingAt, now) >= RemainingRefresh || _remainingAt == 0)
            {
                _remainingSeconds = RemainingSeconds();
                RefreshTypicalRate(); // RolloutScheduler.CopyTrees
                _remainingAt = now;
            }
            var orders = new List<SendOrder>();
            var done = new List<int>();
            foreach (int k in _pending)
            {
                if (orders.Count >= _options.MaxOrdersPerCall) break;
                if (_pendingCount[k] == 0)
                {
                    done.Add(k);
                    continue;
                }
                if (!_window.AllowsEveryGroup(k))
                {
                    WindowStops++;
                    break; // a sequential group's window is full: later packets would only fill its staging
                }
                bool placed = PlanPacket(k, now, orders);
                if (!placed) break; // devices are saturated; keep packet order
                if (_pendingCount[k] == 0) done.Add(k);
            }
            foreach (int k in done) _pending.Remove(k);
            return orders;
        }
    }

    /// <summary>Plans packet k for the groups that still need it: per group; down the relay trees when every group
    /// needs it; else one original naming up to MaxTargets relays (a few groups, or what a failed relay left).</summary>
    private bool PlanPacket(int k, long now, List<SendOrder> orders)
    {
        if (_options.CrossGroup && _forest != null && _pendingCount[k] == _live.Count) return PlanTree(k, now, orders);
        if (!_options.CrossGroup) return PlanPerGroup(k, PendingGroups(k), now, orders);
        // As many originals as the groups still missing it need (a relay's subtree that failed: several), while
        // devices have room.
        bool any = false;
        while (_pendingCount[k] > 0 && orders.Count < _options.MaxOrdersPerCall && PlanCrossGroup(k, PendingGroups(k), now, orders)) any = true;
        return any;
    }

    private List<GroupPlan> PendingGroups(int k) => _live.Where(g => g.Status[k] == Pending).ToList();

    private DeviceLoad LoadOf(uint node) => _loads[node];

    private double _remainingSeconds = double.PositiveInfinity;
    private long _remainingAt;
    private static readonly TimeSpan RemainingRefresh = TimeSpan.FromMilliseconds(50);

    /// <summary>The copy work not yet done (deliveries not yet noticed × their group's copies) over the fleet's
    /// forwarding capacity: about how long the rollout still needs.</summary>
    private double RemainingSeconds()
    {
        double bytes = 0, capacity = 0;
        double chunk = _chunkLength(0);
        foreach (var g in _live)
        {
            bytes += (double)(_chunkCount - g.DoneCount) * (g.Members.Count - 1) * chunk;
            foreach (var m in g.Members) capacity += _selector.RateOf(m.NodeId);
        }
        return capacity <= 0 ? double.PositiveInfinity : bytes / capacity;
    }

    private bool PlanPerGroup(int k, List<GroupPlan> groups, long now, List<SendOrder> orders)
    {
        bool any = false;
        foreach (var g in groups)
        {
            double bytes = RootCopies(g) * (double)_chunkLength(k);
            FleetMember? d = _selector.Pick(g.Members, LoadOf, bytes, _remainingSeconds, null, TreeRank(g), out double finish);
            if (d == null) continue;
            Assign(g, k, d, bytes, finish, now, via: 0);
            orders.Add(new SendOrder(k, d, Array.Empty<FleetMember>()));
            OriginalsPlanned++;
            any = true;
        }
        return any;
    }

    /// <summary>Groups weighed for the root role of one original. One original reaches at most 1 + MaxTargets groups,
    /// so with many groups a packet needs several originals anyway; weighing a rotating window instead of every
    /// pending group keeps planning cost independent of the fleet's size.</summary>
    private const int RootCandidateGroups = 16;

    private bool PlanCrossGroup(int k, List<GroupPlan> groups, long now, List<SendOrder> orders)
    {
        int chunk = _chunkLength(k);
        int maxTargets = Shared.Protocol.DataPacket.MaxTargets;
        int relayCount = Math.Min(groups.Count - 1, maxTargets);
        GroupPlan? rootGroup = null;
        FleetMember? root = null;
        double rootFinish = double.PositiveInfinity, rootRank = double.PositiveInfinity;
        // Each group's copy-tree rank for relays once per call (nothing is booked until every pick is made, so the relay
        // picks see the bookings the root picks saw); a root's rank counts its relay copies too, so it has its own.
        var trees = new Dictionary<GroupPlan, Func<FleetMember, double>?>();
        Func<FleetMember, double>? TreeOf(GroupPlan g) => trees.TryGetValue(g, out var t) ? t : trees[g] = TreeRank(g);
        int window = Math.Min(groups.Count, RootCandidateGroups);
        for (int i = 0; i < window; i++)
        {
            var g = groups[i];
            double bytes = (RootCopies(g) + relayCount) * (double)chunk;
            Func<FleetMember, double>? tree = TreeRank(g, relayCount);
            FleetMember? d = _selector.Pick(g.Members, LoadOf, bytes, _remainingSeconds, null, tree, out double f);
            // Groups compare as their members do: by finish, and within the backlog horizon of the best by copy-tree
            // work (the root's relay copies are booked on its group's), so originals spread over the groups instead
            // of always rooting in the first.
            if (d == null) continue;
            double rank = tree?.Invoke(d) ?? 0;
            double horizon = _options.BacklogHorizon.TotalSeconds;
            if (root == null || f < rootFinish - horizon || (f <= rootFinish + horizon && (rank < rootRank || (rank == rootRank && f < rootFinish))))
            {
                rootRank = rank;
                rootFinish = f;
                root = d;
                rootGroup = g;
            }
        }
        if (root == null || rootGroup == null) return false;
        var relays = new List<(GroupPlan G, FleetMember D, double Bytes, double Finish)>();
        int rootIndex = groups.IndexOf(rootGroup);
        for (int i = 1; i < groups.Count && relays.Count < relayCount; i++)
        {
            var g = groups[(rootIndex + i) % groups.Count];
            double bytes = RootCopies(g) * (double)chunk;
            FleetMember? d = _selector.Pick(g.Members, LoadOf, bytes, _remainingSeconds, null, TreeOf(g), out double f);
            if (d == null) return false; // the packet waits until this group has room: a partial original costs more later
            relays.Add((g, d, bytes, f));
        }
        double rootBytes = (RootCopies(rootGroup) + relays.Count) * (double)chunk;
        Assign(rootGroup, k, root, rootBytes, rootFinish, now, via: 0);
        // Named relays pass the packet to no other group: silent when the gateway can reckon every one of them
        // (RolloutScheduler.SilentRelays).
        bool silent = relays.Count > 0 && relays.All(r => Reckonable(r.D.NodeId));
        foreach (var r in relays)
        {
            // The relay starts only after the root reached it: give its deadline the root's expected time too.
            Assign(r.G, k, r.D, r.Bytes, r.Finish + rootFinish, now, via: root.NodeId, silent: silent);
        }
        orders.Add(new SendOrder(k, root, relays.Select(r => r.D).ToList())
        {
            Silent = silent ? relays.Select(r => r.D.NodeId).ToHashSet() : new HashSet<uint>(),
        });
        OriginalsPlanned++;
        RelaysPlanned += relays.Count;
        return true;
    }

    private void Assign(GroupPlan g, int k, FleetMember d, double bytes, double finishSeconds, long now, uint via, bool deep = false, bool silent = false)
    {
        DeviceLoad load = _loads[d.NodeId];
        // Book the job behind what the device already holds (as far as that is still ahead of now).
        double rate = _selector.RateOf(d.NodeId);
        long ahead = now + (long)(_selector.BacklogSeconds(load) * _time.TimestampFrequency);
        load.BusyUntil = ahead + (long)(bytes / rate * _time.TimestampFrequency);
        load.LargestJobBytes = Math.Max(load.LargestJobBytes, bytes);
        load.InFlight++;
        load.InFlightBytes += bytes;
        if (deep) load.DeepBytes += bytes;
        g.Deep[k] = deep;
        load.Assigned++;
        load.CopyBytesAssigned += (long)bytes;
        if (g.Status[k] == Pending && g.Live) _pendingCount[k]--;
        g.Status[k] = InFlight;
        g.Owner[k] = d.NodeId;
        g.Via[k] = via;
        g.Bytes[k] = bytes;
        g.Planned[k] = now;
        g.Expected[k] = finishSeconds;
        g.Silent[k] = silent;
        g.SettleAt[k] = 0;
        if (silent) RememberSilent(via, k, g); // RolloutScheduler.SilentRelays: queued once its parent noticed
        else Enqueue(d.NodeId, g, k, now);
        g.Deadline[k] = DueBy(g, k);
        _deadlines.Enqueue((g, k), g.Deadline[k]);
        BookTree(g, d.NodeId, bytes, _chunkLength(k), now); // RolloutScheduler.CopyTrees
        g.TreeUntil[k] = _treeBusy.GetValueOrDefault(d.NodeId); // with the copy-tree copies booked before it
    }
}
