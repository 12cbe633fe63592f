using IotOta.Gateway.Fleet;

namespace IotOta.Gateway.Scheduling;

/// <summary>
/// Plans, packet by packet, which device of each group receives the minimum unit (dynamic allocation), keeps a bounded
/// amount of work in flight per device, and plans again what a device left with or what timed out. A "delivery" is
/// one packet reaching one group as a minimum unit; it is done when that device's receipt notice arrives. In
/// cross-group mode a packet goes out once for the whole fleet: an original to one device plus one relay destination
/// in every other group. Pure logic: time from the injected TimeProvider, no I/O. Thread-safe.
/// </summary>
public sealed class RolloutScheduler
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
    private readonly SortedSet<int> _pending = new();

    private sealed class GroupPlan(int id, int chunks)
    {
        public readonly int Id = id;
        public List<FleetMember> Members = new();
        public readonly byte[] Status = new byte[chunks];
        public readonly uint[] Owner = new uint[chunks];
        /// <summary>For a relay delivery: the root device that must first pass the packet on (0 for a direct one).</summary>
        public readonly uint[] Via = new uint[chunks];
        public readonly long[] Deadline = new long[chunks];
        public readonly double[] Bytes = new double[chunks];
        public int DoneCount;
    }

    public RolloutScheduler(int chunkCount, Func<int, int> chunkLength, SchedulerOptions options, OverheadTable overheads, TimeProvider time)
    {
        if (chunkCount <= 0) throw new ArgumentOutOfRangeException(nameof(chunkCount));
        _chunkCount = chunkCount;
        _chunkLength = chunkLength;
        _options = options;
        _time = time;
        _selector = new IntermediateSelector(overheads, options);
        for (int k = 0; k < chunkCount; k++) _pending.Add(k);
    }

    public IntermediateSelector Selector => _selector;
    public long OriginalsPlanned { get; private set; }
    public long RelaysPlanned { get; private set; }
    public long Reallocations { get; private set; }

    /// <summary>True when every packet has reached every group that has members.</summary>
    public bool AllDelivered
    {
        get
        {
            lock (_gate) return _groups.Values.Where(g => g.Members.Count > 0).All(g => g.DoneCount == _chunkCount);
        }
    }

    /// <summary>Deliveries done and needed, over groups that have members.</summary>
    public (int Done, int Total) Progress
    {
        get
        {
            lock (_gate)
            {
                var live = _groups.Values.Where(g => g.Members.Count > 0).ToList();
                return (live.Sum(g => g.DoneCount), live.Count * _chunkCount);
            }
        }
    }

    public IReadOnlyList<DeviceLoad> Loads()
    {
        lock (_gate) return _loads.Values.Select(l => new DeviceLoad(l.NodeId) { InFlight = l.InFlight, InFlightBytes = l.InFlightBytes, Assigned = l.Assigned, CopyBytesAssigned = l.CopyBytesAssigned, Strikes = l.Strikes }).ToList();
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
                if (!_groups.ContainsKey(m.GroupId))
                {
                    _groups[m.GroupId] = new GroupPlan(m.GroupId, _chunkCount);
                    for (int k = 0; k < _chunkCount; k++) _pending.Add(k);
                }
            }
            foreach (var g in _groups.Values)
            {
                g.Members = _members.Values.Where(m => m.GroupId == g.Id).OrderBy(m => m.NodeId).ToList();
                // Plan drops a packet from _pending once every group with members has it; a group that was empty
                // then may have members again and still be owed those packets.
                if (g.Members.Count == 0) continue;
                for (int k = 0; k < _chunkCount; k++)
                {
                    if (g.Status[k] == Pending) _pending.Add(k);
                }
            }
        }
    }

    private void ReleaseAllOf(uint node)
    {
        foreach (var g in _groups.Values)
        {
            for (int k = 0; k < _chunkCount; k++)
            {
                // Its own deliveries, and relays that were to get the packet from it.
                if (g.Status[k] == InFlight && (g.Owner[k] == node || g.Via[k] == node))
                {
                    Release(g, k);
                    g.Status[k] = Pending;
                    _pending.Add(k);
                    Reallocations++;
                }
            }
        }
    }

    private void Release(GroupPlan g, int k)
    {
        if (_loads.TryGetValue(g.Owner[k], out DeviceLoad? load))
        {
            load.InFlight--;
            load.InFlightBytes -= g.Bytes[k];
            if (load.InFlightBytes < 0.5) load.InFlightBytes = 0;
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
            if (g.Status[index] == Done) return;
            if (g.Status[index] == InFlight) Release(g, index);
            g.Status[index] = Done;
            g.DoneCount++;
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

    /// <summary>Deliveries that are past their deadline go back to pending. Called by Plan.</summary>
    /// Scans only when the earliest deadline handed out may have passed (the scan finds the next earliest).
    private void ExpireTimeouts(long now)
    {
        if (now <= _earliestDeadline) return;
        long earliest = long.MaxValue;
        foreach (var g in _groups.Values)
        {
            for (int k = 0; k < _chunkCount; k++)
            {
                if (g.Status[k] != InFlight) continue;
                if (now > g.Deadline[k])
                {
                    if (_loads.TryGetValue(g.Owner[k], out DeviceLoad? silent)) silent.Strikes++;
                    Release(g, k);
                    g.Status[k] = Pending;
                    _pending.Add(k);
                    Reallocations++;
                }
                else if (g.Deadline[k] < earliest)
                {
                    earliest = g.Deadline[k];
                }
            }
        }
        _earliestDeadline = earliest;
    }

    private long _earliestDeadline = long.MaxValue;

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
                var groups = _groups.Values.Where(g => g.Members.Count > 0 && g.Status[k] == Pending).ToList();
                if (groups.Count == 0)
                {
                    done.Add(k);
                    continue;
                }
                bool placed = _options.CrossGroup ? PlanCrossGroup(k, groups, now, orders) : PlanPerGroup(k, groups, now, orders);
                if (!placed) break; // devices are saturated; keep packet order
                if (_groups.Values.All(g => g.Members.Count == 0 || g.Status[k] != Pending)) done.Add(k);
            }
            foreach (int k in done) _pending.Remove(k);
            return orders;
        }
    }

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
        foreach (var g in _groups.Values)
        {
            if (g.Members.Count == 0) continue;
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
            double bytes = (g.Members.Count - 1) * (double)_chunkLength(k);
            FleetMember? d = _selector.Pick(g.Members, LoadOf, bytes, _remainingSeconds, out double finish);
            if (d == null) continue;
            Assign(g, k, d, bytes, finish, now);
            orders.Add(new SendOrder(k, d, Array.Empty<FleetMember>()));
            g.Via[k] = 0;
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
        int start = 0;
        for (int i = 0; i < window; i++)
        {
            var g = groups[(start + i) % groups.Count];
            double bytes = (g.Members.Count - 1 + relayCount) * (double)chunk;
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
            double bytes = (g.Members.Count - 1) * (double)chunk;
            FleetMember? d = _selector.Pick(g.Members, LoadOf, bytes, _remainingSeconds, out double f);
            if (d == null) return false; // the packet waits until this group has room: a partial original costs more later
            relays.Add((g, d, bytes, f));
        }
        double rootBytes = (rootGroup.Members.Count - 1 + relays.Count) * (double)chunk;
        Assign(rootGroup, k, root, rootBytes, rootFinish, now);
        rootGroup.Via[k] = 0;
        foreach (var r in relays)
        {
            r.G.Via[k] = root.NodeId;
            // The relay starts only after the root reached it: give its deadline the root's expected time too.
            Assign(r.G, k, r.D, r.Bytes, r.Finish + rootFinish, now);
        }
        orders.Add(new SendOrder(k, root, relays.Select(r => r.D).ToList()));
        OriginalsPlanned++;
        RelaysPlanned += relays.Count;
        return true;
    }

    private void Assign(GroupPlan g, int k, FleetMember d, double bytes, double finishSeconds, long now)
    {
        DeviceLoad load = _loads[d.NodeId];
        load.InFlight++;
        load.InFlightBytes += bytes;
        load.Assigned++;
        load.CopyBytesAssigned += (long)bytes;
        g.Status[k] = InFlight;
        g.Owner[k] = d.NodeId;
        g.Bytes[k] = bytes;
        double timeout = Math.Max(_options.MinNoticeTimeout.TotalSeconds, 4 * finishSeconds);
        g.Deadline[k] = now + (long)(timeout * _time.TimestampFrequency);
        if (g.Deadline[k] < _earliestDeadline) _earliestDeadline = g.Deadline[k];
    }
}
