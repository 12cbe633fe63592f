using IotOta.Gateway.Fleet;

namespace IotOta.Gateway.Scheduling;

/// <summary>
/// Plans, packet by packet, which device of each group receives the minimum unit (dynamic allocation), keeps a bounded
/// amount of work in flight per device, and plans again what a device left with or what timed out. A "delivery" is
/// one packet reaching one group as a minimum unit; it is done when that device's receipt notice arrives. In
/// cross-group mode a packet goes out once for the whole fleet: an original to one device plus one relay destination
/// in every other group — named in the original for up to 1 + MaxTargets groups, and beyond that down the relay
/// trees of a <see cref="RelayForest"/>. Planning a packet costs O(groups) once (every group's delivery is recorded);
/// a planning call that finds the devices saturated, and the bookkeeping of notices and timeouts, cost no scan of the
/// groups. Pure logic: time from the injected TimeProvider, no I/O. Thread-safe.
/// </summary>
public sealed partial class RolloutScheduler
{
    private const byte Pending = 0, InFlight = 1, Done = 2;

    private readonly object _gate = new();
    private readonly int _chunkCount;
    private readonly Func<int, int> _chunkLength;
    private readonly SchedulerOptions _options;
    private readonly TimeProvider _time;
    private readonly IntermediateSelector _selector;
    private readonly Dictionary<int, GroupPlan> _groups = new();
    private readonly Dictionary<uint, FleetMember> _members = new();
    private readonly Dictionary<uint, DeviceLoad> _loads = new();
    /// <summary>Packets some group with members still needs, in packet order.</summary>
    private readonly SortedSet<int> _pending = new();
    /// <summary>Per packet: how many groups with members still need it (neither in flight nor done).</summary>
    private readonly int[] _pendingCount;
    /// <summary>Groups with members, in id order.</summary>
    private List<GroupPlan> _live = new();
    /// <summary>Done deliveries over the groups with members.</summary>
    private long _liveDone;
    /// <summary>Deliveries in flight by deadline (entries whose delivery moved on are skipped when they come up).</summary>
    private readonly PriorityQueue<(GroupPlan G, int K), long> _deadlines = new();
    private readonly SequentialWindow _window;

    private sealed class GroupPlan(int id, int chunks)
    {
        public readonly int Id = id;
        public List<FleetMember> Members = new();
        public bool Live;
        public readonly byte[] Status = new byte[chunks];
        public readonly uint[] Owner = new uint[chunks];
        /// <summary>For a relayed delivery: the device that must first pass the packet on (0 for a direct one).</summary>
        public readonly uint[] Via = new uint[chunks];
        public readonly long[] Deadline = new long[chunks];
        public readonly double[] Bytes = new double[chunks];
        /// <summary>When the delivery was planned and how long it was expected to take (seconds): its notice is a
        /// sample of the <see cref="NoticeTimer"/>.</summary>
        public readonly long[] Planned = new long[chunks];
        public readonly double[] Expected = new double[chunks];
        public int DoneCount;
    }

    public RolloutScheduler(int chunkCount, Func<int, int> chunkLength, SchedulerOptions options, OverheadTable overheads, TimeProvider time)
    {
        if (chunkCount <= 0) throw new ArgumentOutOfRangeException(nameof(chunkCount));
        _chunkCount = chunkCount;
        _chunkLength = chunkLength;
        _options = options;
        _time = time;
        _selector = new IntermediateSelector(overheads, options, time);
        _pendingCount = new int[chunkCount];
        _window = new SequentialWindow(chunkCount);
    }

    public IntermediateSelector Selector => _selector;
    public long OriginalsPlanned { get; private set; }
    public long RelaysPlanned { get; private set; }
    public long Reallocations { get; private set; }
    /// <summary>Plan calls that stopped because a group's sequential window was full.</summary>
    public long WindowStops { get; private set; }

    /// <summary>The group's in-order window (0 = none) and lowest undelivered packet.</summary>
    public (int Window, int Lowest) WindowOf(int groupId)
    {
        lock (_gate) return (_window.WindowOf(groupId), _window.LowestUndelivered(groupId));
    }

    /// <summary>True when every packet has reached every group that has members.</summary>
    public bool AllDelivered
    {
        get
        {
            lock (_gate) return _liveDone == (long)_live.Count * _chunkCount;
        }
    }

    /// <summary>Deliveries done and needed, over groups that have members.</summary>
    public (int Done, int Total) Progress
    {
        get
        {
            lock (_gate) return ((int)_liveDone, _live.Count * _chunkCount);
        }
    }

    public IReadOnlyList<DeviceLoad> Loads()
    {
        lock (_gate) return _loads.Values.Select(l => new DeviceLoad(l.NodeId) { InFlight = l.InFlight, InFlightBytes = l.InFlightBytes, Assigned = l.Assigned, CopyBytesAssigned = l.CopyBytesAssigned, Strikes = l.Strikes, BusyUntil = l.BusyUntil, LargestJobBytes = l.LargestJobBytes }).ToList();
    }

    /// <summary>The destination list changed: devices joined or left. Work held by devices that left is planned again.</summary>
    public void UpdateFleet(IEnumerable<FleetMember> members)
    {
        lock (_gate)
        {
            var next = members.ToDictionary(m => m.NodeId);
            foreach (uint gone in _members.Keys.Where(n => !next.ContainsKey(n)).ToList())
            {
                ReleaseAllOf(gone);
                _members.Remove(gone);
            }
            // A device that moved to another group: what it holds was planned for its old group.
            foreach (var moved in next.Values.Where(m => _members.TryGetValue(m.NodeId, out var old) && old.GroupId != m.GroupId).ToList())
            {
                ReleaseAllOf(moved.NodeId);
            }
            foreach (var m in next.Values)
            {
                _members[m.NodeId] = m;
                if (!_loads.ContainsKey(m.NodeId)) _loads[m.NodeId] = new DeviceLoad(m.NodeId);
                if (!_groups.ContainsKey(m.GroupId)) _groups[m.GroupId] = new GroupPlan(m.GroupId, _chunkCount);
            }
            var byGroup = _members.Values.GroupBy(m => m.GroupId).ToDictionary(g => g.Key, g => g.OrderBy(m => m.NodeId).ToList());
            foreach (var g in _groups.Values)
            {
                g.Members = byGroup.TryGetValue(g.Id, out var list) ? list : new List<FleetMember>();
                g.Live = g.Members.Count > 0;
                // A group without members has no window (it must not hold packets back for the rest).
                int smallestStaging = g.Live && _options.StagingCapacityOf is { } staging
                    ? g.Members.Select(m => staging(m.NodeId)).Where(c => c > 0).DefaultIfEmpty(0).Min()
                    : 0;
                _window.SetGroup(g.Id, smallestStaging);
            }
            _live = _groups.Values.Where(g => g.Live).OrderBy(g => g.Id).ToList();
            // Recount what every packet still needs: a group that was empty may have members again and still be owed.
            Array.Clear(_pendingCount);
            _liveDone = 0;
            foreach (var g in _live)
            {
                _liveDone += g.DoneCount;
                for (int k = 0; k < _chunkCount; k++)
                {
                    if (g.Status[k] == Pending) _pendingCount[k]++;
                }
            }
            _pending.Clear();
            for (int k = 0; k < _chunkCount; k++)
            {
                if (_pendingCount[k] > 0) _pending.Add(k);
            }
            RebuildForest();
        }
    }

    private void ReleaseAllOf(uint node)
    {
        foreach (var g in _groups.Values)
        {
            for (int k = 0; k < _chunkCount; k++)
            {
                // Its own deliveries, and everything that was to get the packet through it.
                if (g.Status[k] == InFlight && g.Owner[k] == node)
                {
                    Replan(g, k);
                    ReleaseSubtree(k, node);
                }
                else if (g.Status[k] == InFlight && g.Via[k] == node)
                {
                    ReleaseSubtree(k, node);
                }
            }
        }
    }

    /// <summary>Every in-flight delivery of packet k that was to come (directly or further down) through node goes
    /// back to pending: a relay that fails takes its whole subtree with it, and nothing else.</summary>
    private void ReleaseSubtree(int k, uint node)
    {
        var via = new HashSet<uint> { node };
        bool changed = true;
        while (changed)
        {
            changed = false;
            foreach (var g in _live)
            {
                if (g.Status[k] != InFlight || !via.Contains(g.Via[k])) continue;
                via.Add(g.Owner[k]);
                Replan(g, k);
                changed = true;
            }
        }
    }

    /// <summary>An in-flight delivery goes back to pending.</summary>
    private void Replan(GroupPlan g, int k)
    {
        if (g.Via[k] == 0) ForgetRelays(g.Owner[k], k); // a root planned again will not notice for its relays
        Release(g, k);
        g.Status[k] = Pending;
        if (g.Live)
        {
            _pendingCount[k]++;
            _pending.Add(k);
        }
        Reallocations++;
    }

    private void Release(GroupPlan g, int k)
    {
        if (_loads.TryGetValue(g.Owner[k], out DeviceLoad? load))
        {
            load.InFlight--;
            load.InFlightBytes -= g.Bytes[k];
            if (load.InFlightBytes < 0.5) load.InFlightBytes = 0;
            if (load.InFlight <= 0) load.BusyUntil = 0; // idle: the next job is booked from its assignment
        }
    }

    /// <summary>A receipt notice: the node's group now has packet index as a minimum unit.</summary>
    public void OnNotice(uint node, int index)
    {
        lock (_gate)
        {
            if (index < 0 || index >= _chunkCount || !_members.TryGetValue(node, out FleetMember? m)) return;
            GroupPlan g = _groups[m.GroupId];
            if (_loads.TryGetValue(node, out DeviceLoad? heard)) heard.Strikes = 0; // it is alive after all
            if (g.Owner[index] == node) TightenRelayDeadlines(node, index, _time.GetTimestamp());
            if (g.Status[index] == Done) return;
            if (g.Status[index] == InFlight)
            {
                if (g.Owner[index] == node) _noticeTimer.Observe(g.Expected[index], _time.GetElapsedTime(g.Planned[index]).TotalSeconds);
                Release(g, index);
            }
            else if (g.Live) _pendingCount[index]--;
            g.Status[index] = Done;
            g.DoneCount++;
            if (g.Live) _liveDone++;
            _window.OnDelivered(g.Id, index);
        }
    }

    /// <summary>True when the node's group already has packet index as a minimum unit (its notice came back, or every
    /// member was known to hold it), so a member still missing it lost a peer copy; false while the packet is still
    /// on its way to the group (or the node is not on the destination list: then nothing is known).</summary>
    public bool IsDeliveredTo(uint node, int index)
    {
        lock (_gate)
        {
            if (index < 0 || index >= _chunkCount || !_members.TryGetValue(node, out FleetMember? m)) return true;
            return _groups[m.GroupId].Status[index] == Done;
        }
    }

    /// <summary>What devices report holding (a resumed rollout, a reconnect, a rejoin): for each group of the given
    /// members, a packet nobody is bringing that some member holds is that group's (its peers repair from the holder;
    /// sending it into the group again would only duplicate it), and so is a packet every member holds. A delivery on
    /// its way stays with its owner until its notice or deadline unless the whole group holds it: the member that
    /// holds it may be the owner, still forwarding, and releasing its load early hands a slow device more work than it
    /// can pass on (heterogeneous fleets ended in gateway repairs). Returns how many deliveries it marked done.</summary>
    public int SkipHeld(IEnumerable<FleetMember> members, Func<uint, int, bool> held)
    {
        int skipped = 0;
        foreach (var byGroup in members.GroupBy(m => m.GroupId))
        {
            var list = byGroup.ToList();
            for (int k = 0; k < _chunkCount; k++)
            {
                FleetMember? holder = null;
                bool all = true;
                foreach (var m in list)
                {
                    if (held(m.NodeId, k)) holder ??= m;
                    else all = false;
                }
                if (holder == null) continue;
                lock (_gate)
                {
                    if (!_members.TryGetValue(holder.NodeId, out FleetMember? known)) continue;
                    byte status = _groups[known.GroupId].Status[k];
                    if (status == Done || (status == InFlight && !all)) continue;
                }
                OnNotice(holder.NodeId, k);
                skipped++;
            }
        }
        return skipped;
    }

    /// <summary>Deliveries that are past their deadline go back to pending, with the subtrees that were to get the
    /// packet through them. Called by Plan; costs nothing while no deadline has passed.</summary>
    private void ExpireTimeouts(long now)
    {
        while (_deadlines.TryPeek(out var e, out long deadline) && now > deadline)
        {
            _deadlines.Dequeue();
            var (g, k) = e;
            if (g.Status[k] != InFlight || g.Deadline[k] != deadline) continue; // noticed or planned again since
            uint owner = g.Owner[k];
            if (_loads.TryGetValue(owner, out DeviceLoad? silent)) silent.Strikes++;
            Replan(g, k);
            ReleaseSubtree(k, owner);
        }
    }

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
            FleetMember? d = _selector.Pick(g.Members, LoadOf, bytes, _remainingSeconds, out double finish);
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
        double rootFinish = double.PositiveInfinity;
        int window = Math.Min(groups.Count, RootCandidateGroups);
        for (int i = 0; i < window; i++)
        {
            var g = groups[i];
            double bytes = (RootCopies(g) + relayCount) * (double)chunk;
            FleetMember? d = _selector.Pick(g.Members, LoadOf, bytes, _remainingSeconds, out double f);
            if (d != null && f < rootFinish)
            {
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
            FleetMember? d = _selector.Pick(g.Members, LoadOf, bytes, _remainingSeconds, out double f);
            if (d == null) return false; // the packet waits until this group has room: a partial original costs more later
            relays.Add((g, d, bytes, f));
        }
        double rootBytes = (RootCopies(rootGroup) + relays.Count) * (double)chunk;
        Assign(rootGroup, k, root, rootBytes, rootFinish, now, via: 0);
        foreach (var r in relays)
        {
            // The relay starts only after the root reached it: give its deadline the root's expected time too.
            Assign(r.G, k, r.D, r.Bytes, r.Finish + rootFinish, now, via: root.NodeId);
        }
        RememberRelays(root.NodeId, k, relays.Select(r => r.G).ToList());
        orders.Add(new SendOrder(k, root, relays.Select(r => r.D).ToList()));
        OriginalsPlanned++;
        RelaysPlanned += relays.Count;
        return true;
    }

    private void Assign(GroupPlan g, int k, FleetMember d, double bytes, double finishSeconds, long now, uint via)
    {
        DeviceLoad load = _loads[d.NodeId];
        // Book the job behind what the device already holds (as far as that is still ahead of now).
        double rate = _selector.RateOf(d.NodeId);
        long ahead = now + (long)(_selector.BacklogSeconds(load) * _time.TimestampFrequency);
        load.BusyUntil = ahead + (long)(bytes / rate * _time.TimestampFrequency);
        load.LargestJobBytes = Math.Max(load.LargestJobBytes, bytes);
        load.InFlight++;
        load.InFlightBytes += bytes;
        load.Assigned++;
        load.CopyBytesAssigned += (long)bytes;
        if (g.Status[k] == Pending && g.Live) _pendingCount[k]--;
        g.Status[k] = InFlight;
        g.Owner[k] = d.NodeId;
        g.Via[k] = via;
        g.Bytes[k] = bytes;
        g.Planned[k] = now;
        g.Expected[k] = finishSeconds;
        double timeout = _noticeTimer.TimeoutSeconds(finishSeconds, _options.MinNoticeTimeout.TotalSeconds);
        g.Deadline[k] = now + (long)(timeout * _time.TimestampFrequency);
        _deadlines.Enqueue((g, k), g.Deadline[k]);
    }
}
