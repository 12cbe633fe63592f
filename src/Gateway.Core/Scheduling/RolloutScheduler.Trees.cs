using IotOta.Gateway.Fleet;
using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Scheduling;

/// <summary>Relay trees: with more groups than one original can name, a packet that every group needs goes down the
/// tree of its <see cref="RelayForest"/>; the gateway still chooses the root and the root's children (dynamic
/// allocation), deeper groups get it from the candidate their parent's table names for this packet.</summary>
public sealed partial class RolloutScheduler
{
    private RelayForest? _forest;
    /// <summary>Per group: the devices its parent may relay to (the candidate lists of the tables).</summary>
    private Dictionary<int, List<FleetMember>> _candidates = new();
    /// <summary>Per device: deep-position jobs the tables will hand it for packets not yet planned.</summary>
    private readonly Dictionary<uint, int> _forced = new();

    /// <summary>The trees now in use (null with at most 1 + MaxTargets groups, or in per-group mode).</summary>
    public RelayForest? Forest
    {
        get { lock (_gate) return _forest; }
    }

    /// <summary>The trees are laid over the devices that will take data, before any may (<see cref="_treeFleet"/>):
    /// their tables can go out now.</summary>
    public bool TreesAhead
    {
        get { lock (_gate) return _treeFleet != null && _forest != null; }
    }

    /// <summary>Grows whenever the trees or their candidate lists change: the tables must be published again.</summary>
    public uint TreeEpoch { get; private set; }

    /// <summary>The epoch whose tables went out last, and when (<see cref="TablesPublished"/>).</summary>
    private uint _tablesOutEpoch;
    private long _tablesOutAt;

    /// <summary>How long after its tables went out the trees' leaves may be asked for silence: a device that still
    /// holds the table of an earlier epoch may take itself for a leaf where the new trees make it relay, and would
    /// then neither relay nor notice (its delivery times out and goes again). Short: the tables go out with the hash
    /// list, well before data, and a rebuilt tree's tables go out up to 5 s after the rebuild (RelayTreePublisher),
    /// which this waits for in any case. `demo --devices 100 --groups 10` holds the list 0.2 s after the tables went out and
    /// takes ~2.5 s in all: with this wait the broker sent 1,158–1,160 KB against 1,151–1,152 KB without it (56 of 256
    /// packets planned before it passed), with 1 s 1,164 KB.</summary>
    public static readonly TimeSpan TableSettle = TimeSpan.FromMilliseconds(250);

    /// <summary>The run loop published the tables of <paramref name="epoch"/> (Rollouts/Run/RelayTreePublisher).</summary>
    public void TablesPublished(uint epoch)
    {
        lock (_gate)
        {
            _tablesOutEpoch = epoch;
            _tablesOutAt = _time.GetTimestamp();
            if (_firstTablesEpoch == 0) _firstTablesEpoch = epoch;
        }
    }

    /// <summary>Every table of the trees is a level-1 one (at most 1 + 4 + 16 groups): a group table, whose digest and
    /// seed copy are all the hash pieces need before they can go down the trees (deeper groups' per-device tables, at
    /// N = 1,000 in 63 groups tens of KB, would have to go out before the list's seeds).</summary>
    public bool LevelOneTablesOnly
    {
        get { lock (_gate) return LevelOneOnly; }
    }

    private bool LevelOneOnly => _forest != null && _forest.InternalCount <= 1 + RelayForest.FanOut;

    /// <summary>The tables of the trees in use went out.</summary>
    private bool TablesOut => _tablesOutEpoch == TreeEpoch && _tablesOutAt != 0;

    /// <summary>The trees the hash-list pieces go down (RootPublisher): those in use when their tables went out and all
    /// are level-1 ones (<see cref="LevelOneTablesOnly"/>); null otherwise (the pieces then name relays in every group).</summary>
    public RelayForest? PieceForest
    {
        get
        {
            lock (_gate) return TablesOut && LevelOneOnly ? _forest : null;
        }
    }

    /// <summary>The tables of the trees in use went out at least <see cref="TableSettle"/> ago, or they are the run's
    /// first (no device holds an older table of this run's trees; a level-1 group's table of an earlier run is taken
    /// back by the new digest, published before this; a device without a table owes its copies and notices; at
    /// `demo --devices 100 --groups 10` the wait kept 56 of 256 packets' relays noticing, ~6 KB at the broker).</summary>
    private bool TablesSettled => TablesOut && (TreeEpoch == _firstTablesEpoch || _time.GetElapsedTime(_tablesOutAt) >= TableSettle);

    private uint _firstTablesEpoch;

    /// <summary>The relay-tree table of every group that has children below level 1, and the empty table of every
    /// other group, for the current trees (none when there are no trees). The gateway publishes each retained on its group's tree topic.</summary>
    public IReadOnlyList<RelayTree> RelayTables(uint imageId)
    {
        lock (_gate)
        {
            if (_forest == null) return Array.Empty<RelayTree>();
            return _forest.Tables(imageId, TreeEpoch, g => _candidates[g]).ToList();
        }
    }

    /// <summary>The tables as the gateway publishes them: groups at level 1 of their tree (the gateway picks their relay
    /// among all members) keep the group's table; deeper groups get one table per member that relays a packet
    /// (<see cref="RelayTableSplit"/>).</summary>
    public (IReadOnlyList<RelayTree> Groups, IReadOnlyList<(uint Node, RelayTree Table)> Devices) PublishedRelayTables(uint imageId)
    {
        lock (_gate)
        {
            var groups = new List<RelayTree>();
            var devices = new List<(uint, RelayTree)>();
            if (_forest == null) return (groups, devices);
            foreach (RelayTree t in _forest.Tables(imageId, TreeEpoch, g => _candidates[g]))
            {
                if (t.ChildCount == 0 || _forest.PositionOf(t.Tree, t.GroupId) <= RelayForest.FanOut) groups.Add(t);
                else devices.AddRange(RelayTableSplit.ForDevices(t, _candidates[t.GroupId], _chunkCount));
            }
            return (groups, devices);
        }
    }

    /// <summary>Protocol v2: the member of a group that gets the group's whole table on its in-topic (the others get its
    /// digest and the table from the seed over the second network, Rollouts/Run/RelayTreePublisher): the group's first
    /// relay candidate in node order; null when the group has no candidates (no trees, or not in them).</summary>
    public uint? TableSeed(int groupId)
    {
        lock (_gate)
        {
            if (_forest == null || !_candidates.TryGetValue(groupId, out var cands) || cands.Count == 0) return null;
            return cands.Min(m => m.NodeId);
        }
    }

    /// <summary>While no device may take data (the live fleet is empty): the groups, with their members in node order,
    /// that will — the trees are laid over them, so their tables reach the devices while the hash list still
    /// spreads. (When the tables waited until every device held the list, at N = 1,000 in 63 groups ~180 KB of them
    /// fanned out through the broker's uplink just ahead of the first originals, which reached their devices 1.0–1.1 s
    /// after they left the gateway.) The same members taking data later give the same trees (no new epoch, nothing
    /// published again); fewer (the settle time passed before every device held the list) give new trees, whose tables
    /// go out at once (Rollouts/Run/RelayTreePublisher).</summary>
    private List<(int Id, List<FleetMember> Members)>? _treeFleet;

    /// <summary>Builds the trees for the live groups (or, before any is, for <see cref="_treeFleet"/>) and the
    /// candidate lists: every member when the group has at most MaxCandidates, else the MaxCandidates it would forward
    /// fastest (measured rate, then node id).</summary>
    private void RebuildForest()
    {
        var groups = _treeFleet ?? _live.Select(g => (g.Id, g.Members)).ToList();
        if (!_options.CrossGroup || groups.Count <= 1 + DataPacket.MaxTargets)
        {
            if (_forest != null) TreeEpoch++;
            _forest = null;
            _candidates = new();
            return;
        }
        var candidates = groups.ToDictionary(g => g.Id, g => g.Members.Count <= RelayTree.MaxCandidates
            ? g.Members
            : g.Members.OrderByDescending(m => _selector.RateOf(m.NodeId)).ThenBy(m => m.NodeId).Take(RelayTree.MaxCandidates).ToList());
        bool same = _forest != null && _forest.GroupIds.SequenceEqual(groups.Select(g => g.Id))
            && candidates.All(kv => _candidates.TryGetValue(kv.Key, out var old) && old.SequenceEqual(kv.Value));
        if (same) return;
        _forest = new RelayForest(groups.Select(g => g.Id).ToList());
        _candidates = candidates;
        TreeEpoch++;
        CountForcedJobs();
    }

    /// <summary>Counts, for every device, the jobs the rotation will hand it at deep positions for the packets still
    /// to plan down a tree, so the positions the gateway chooses can even out the job counts.</summary>
    private void CountForcedJobs()
    {
        _forced.Clear();
        RelayForest f = _forest!;
        for (int k = 0; k < _chunkCount; k++)
        {
            if (_pendingCount[k] != _live.Count) continue;
            int t = f.TreeOf(k);
            for (int p = RelayForest.FanOut + 1; p < f.GroupCount; p++)
            {
                var cands = _candidates[f.GroupAt(t, p)];
                uint node = cands[RelayTree.CandidateIndex(k, cands.Count)].NodeId;
                _forced[node] = _forced.GetValueOrDefault(node) + 1;
            }
        }
    }

    /// <summary>The device of a group with the fewest jobs, counting those it had and those the rotation will still
    /// hand it (ties: the rotation's own device for this packet, then node order).</summary>
    private FleetMember EvenDevice(GroupPlan g, FleetMember rotation)
    {
        FleetMember best = rotation;
        long bestJobs = LoadOf(rotation.NodeId).Assigned + _forced.GetValueOrDefault(rotation.NodeId);
        foreach (var m in g.Members)
        {
            long jobs = LoadOf(m.NodeId).Assigned + _forced.GetValueOrDefault(m.NodeId);
            if (jobs < bestJobs)
            {
                best = m;
                bestJobs = jobs;
            }
        }
        return best;
    }

    /// <summary>Plans packet k down its tree: root and level 1 the device with the fewest jobs (EvenDevice), or the
    /// selector's pick where that one is busy, timed out or slow, deeper positions predicted from the tables. Every device on the way must have room, else the packet waits (nothing is assigned).</summary>
    private bool PlanTree(int k, long now, List<SendOrder> orders)
    {
        RelayForest f = _forest!;
        int t = f.TreeOf(k);
        int n = f.GroupCount;
        int chunk = _chunkLength(k);
        var plans = new GroupPlan[n];
        var picks = new FleetMember[n];
        var bytes = new double[n];
        var finish = new double[n];
        for (int p = 0; p < n; p++)
        {
            GroupPlan g = _groups[f.GroupAt(t, p)];
            double b = (RootCopies(g) + f.ChildCount(p)) * (double)chunk;
            FleetMember? d;
            double own;
            var cands = _candidates[g.Id];
            FleetMember rotation = cands[RelayTree.CandidateIndex(k, cands.Count)];
            if (p <= RelayForest.FanOut)
            {
                // The device with the fewest jobs, counting those the rotation will still hand it, whenever it has queue
                // room, no delivery of it timed out since its last notice, the selector would not pass it over as slow,
                // and it forwards at a rate the gateway can count on (RolloutScheduler.SilentRelays' Reckonable): a
                // group's copy-tree work falls on its members by where each packet's minimum unit lands, evenly only
                // when every member receives as many. Left to the selector (backlog, then the fewest jobs within the
                // horizon), the groups at level 1 got 3 to 6 minimum units per member where the rotation gives every
                // other group 4, their busiest members forwarded 70–77 copies against 60–68, and at N = 1,000 in 63
                // groups they finished last: 29.8 s against a median device at 26.2. Ranked by copy-tree work instead
                // (RolloutScheduler.CopyTrees) it was no better (30.6–31.2 s in 3 runs).
                FleetMember even = EvenDevice(g, rotation);
                DeviceLoad evenLoad = LoadOf(even.NodeId);
                double evenFinish = _selector.FinishSeconds(evenLoad, b);
                if (_selector.HasQueueRoom(evenLoad) && evenLoad.Strikes == 0 && Reckonable(even.NodeId)
                    && _selector.NotSlow(g.Members, LoadOf, b, evenFinish))
                {
                    d = even;
                    own = evenFinish;
                }
                else
                {
                    d = _selector.Pick(g.Members, LoadOf, b, _remainingSeconds, even, out own);
                    if (d == null) return false;
                }
            }
            else
            {
                d = rotation;
                DeviceLoad load = LoadOf(d.NodeId);
                if (!_selector.HasQueueRoom(load)) return false;
                own = _selector.FinishSeconds(load, b);
            }
            plans[p] = g;
            picks[p] = d;
            bytes[p] = b;
            // A relay starts only after its parent reached it: its deadline includes the way down.
            finish[p] = own + (p == 0 ? 0 : finish[RelayForest.Parent(p)]);
        }
        // The leaves send no notice (RolloutScheduler.SilentRelays): each has a table that says it passes the packet to
        // no other group, and its parent's notice says the copy went out. Not while the tables of these trees may still
        // be on their way (TablesSettled). Also a leaf the gateway could not reckon (measured at under a quarter of the
        // median rate; below level 1 the rotation hands it its packets anyway, at level 1 the selector may pick it when
        // the even member is busy): its silent jobs are reckoned at its own rate, and its notices would queue behind
        // its copies on its slow uplink. The real heterogeneous fleet in 10 groups (a quarter ten times slower): with
        // reckonable leaves silent only, 105.8–107.8 s, the median device 81–82 s (notices 18 s late); with every leaf
        // silent but where a level-1 leaf is not reckonable, 101.4–106.3 s and 60–64 s (16 s late); with every leaf,
        // 88.0–109.6 s and 46–63 s (3–6 s late).
        bool silent = _options.SilentTreeLeaves && TablesSettled;
        // The interior relays too (FlagSilentTree), when the gateway can reckon every one of them: a root's notice
        // settles its children once they should be through, and each of those its own (Settle).
        bool interior = silent && _options.SilentTreeInterior;
        for (int p = 1; p < n && interior; p++) interior = f.ChildCount(p) == 0 || Reckonable(picks[p].NodeId);
        var quiet = new HashSet<uint>();
        for (int p = 0; p < n; p++)
        {
            if (p > RelayForest.FanOut && _forced.TryGetValue(picks[p].NodeId, out int left) && left > 0) _forced[picks[p].NodeId] = left - 1;
            bool leaf = silent && p > 0 && (f.ChildCount(p) == 0 || interior);
            if (leaf) quiet.Add(picks[p].NodeId);
            Assign(plans[p], k, picks[p], bytes[p], finish[p], now, via: p == 0 ? 0 : picks[RelayForest.Parent(p)].NodeId, deep: p > RelayForest.FanOut, silent: leaf);
        }
        int direct = Math.Min(n - 1, RelayForest.FanOut);
        orders.Add(new SendOrder(k, picks[0], picks.Skip(1).Take(direct).ToList())
        {
            Tree = true,
            Deep = picks.Skip(1 + direct).ToList(),
            Silent = quiet,
            SilentTree = interior,
        });
        OriginalsPlanned++;
        RelaysPlanned += n - 1;
        return true;
    }
}
