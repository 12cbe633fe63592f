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
        /// <summary>The delivery is a deep relay-tree position's (below level 1): booked in DeviceLoad.DeepBytes.</summary>
        public readonly bool[] Deep = new bool[chunks];
        /// <summary>When the delivery was planned and how long it was expected to take (seconds): its notice is a
        /// sample of the <see cref="NoticeTimer"/>.</summary>
        public readonly long[] Planned = new long[chunks];
        public readonly double[] Expected = new double[chunks];
        /// <summary>A relay that sends no notice (RolloutScheduler.SilentRelays): named by an original flagged
        /// FlagSilentRelays, or a leaf of a relay tree.</summary>
        public readonly bool[] Silent = new bool[chunks];
        /// <summary>When the device was booked to be through with this job and every copy-tree copy booked on it
        /// before (RolloutScheduler.CopyTrees; 0 without copy trees).</summary>
        public readonly long[] TreeUntil = new long[chunks];
        /// <summary>For a silent relay whose parent noticed: when it is taken as done (0 = not yet settling).</summary>
        public readonly long[] SettleAt = new long[chunks];
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
        // The tables' epoch starts at the wall clock's seconds, not at 0: a device keeps the newest table of an image
        // and refuses an older one, and a new engine for the same image (a campaign's next phase, a rollout resumed
        // after a gateway restart) would otherwise count from 1 again below what its devices hold.
        TreeEpoch = (uint)Math.Clamp(time.GetUtcNow().ToUnixTimeSeconds(), 0, uint.MaxValue / 2);
    }

    public long OriginalsPlanned { get; private set; }
    public long RelaysPlanned { get; private set; }
    public long Reallocations { get; private set; }
    /// <summary>Why deliveries were planned again (each counts with the subtree it took along).</summary>
    public ReplanCauses ReplansBy => new(_replansTimedOut, _replansRelayTimedOut, _replansLeft, _replansWithdrawn);
    private long _replansTimedOut, _replansRelayTimedOut, _replansLeft, _replansWithdrawn;
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
        lock (_gate) return _loads.Values.Select(l => new DeviceLoad(l.NodeId) { InFlight = l.InFlight, InFlightBytes = l.InFlightBytes, Assigned = l.Assigned, CopyBytesAssigned = l.CopyBytesAssigned, Strikes = l.Strikes, BusyUntil = l.BusyUntil, LargestJobBytes = l.LargestJobBytes, DeepBytes = l.DeepBytes }).ToList();
    }

    /// <summary>Every in-flight delivery of packet k that was to come (directly or further down) through node goes
    /// back to pending: a relay that fails takes its whole subtree with it, and nothing else. Silent relays
    /// (RolloutScheduler.SilentRelays) stay unless <paramref name="silentToo"/> (the packet never went out): they keep
    /// their own deadlines, and their root's notice may still come.</summary>
    private void ReleaseSubtree(int k, uint node, bool silentToo = false)
    {
        var via = new HashSet<uint> { node };
        bool changed = true;
        while (changed)
        {
            changed = false;
            foreach (var g in _live)
            {
                if (g.Status[k] != InFlight || !via.Contains(g.Via[k]) || (g.Silent[k] && !silentToo)) continue;
                via.Add(g.Owner[k]);
                Replan(g, k);
                changed = true;
            }
        }
    }

    /// <summary>An in-flight delivery goes back to pending.</summary>
    private void Replan(GroupPlan g, int k)
    {
        if (TryRescue(g, k)) return; // RolloutScheduler.Departures: brought in from another group instead
        if (IsOrphan(g, k)) OrphansReplanned++;
        Release(g, k);
        g.Status[k] = Pending;
        if (g.Live)
        {
            _pendingCount[k]++;
            _pending.Add(k);
        }
        Reallocations++;
        PullOrphansOf(k); // RolloutScheduler.Departures: groups waiting for a gone device's packet k come along
    }

    private void Release(GroupPlan g, int k)
    {
        if (EndOrphan(g, k)) return;
        if (_loads.TryGetValue(g.Owner[k], out DeviceLoad? load))
        {
            load.InFlight--;
            load.InFlightBytes -= g.Bytes[k];
            if (load.InFlightBytes < 0.5) load.InFlightBytes = 0;
            if (g.Deep[k]) load.DeepBytes = Math.Max(0, load.DeepBytes - g.Bytes[k]);
            if (load.InFlight <= 0)
            {
                load.DeepBytes = 0;
                load.BusyUntil = 0; // idle: the next job is booked from its assignment
            }
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
            bool own = g.Status[index] == InFlight && g.Owner[index] == node;
            if (own) _noticeTimer.Observe(g.Expected[index], _time.GetElapsedTime(g.Planned[index]).TotalSeconds);
            SettleSilentRelays(node, index); // RolloutScheduler.SilentRelays
            if (g.Owner[index] == node) Resync(node, g, index, _time.GetTimestamp());
            if (g.Status[index] != Done) MarkDone(g, index, _time.GetTimestamp());
        }
    }

    /// <summary>Under the gate: the group has packet k now (a notice, or a silent relay that settled). An in-flight
    /// delivery releases its load and counts toward the notice rate (RolloutScheduler.Queueing); a pending one is
    /// owed no more.</summary>
    private void MarkDone(GroupPlan g, int k, long now)
    {
        if (g.Status[k] == InFlight)
        {
            Release(g, k);
            CountNotice(now);
        }
        else if (g.Live) _pendingCount[k]--;
        g.Status[k] = Done;
        g.DoneCount++;
        if (g.Live) _liveDone++;
        _window.OnDelivered(g.Id, k);
    }

    /// <summary>True when the node's group already has packet index as a minimum unit (its notice came back, or every
    /// member was known to hold it), so a member still missing it lost a peer copy; false while the packet is still
    /// on its way to the group. A node the plan does not hold (not on the destination list yet, or — protocol v2 — not
    /// yet holding the hash list) is judged by <paramref name="group"/>, its group as the registry knows it; false when
    /// the plan knows nothing of that group either. (It answered true for such a node, so at N = 1,000 on v2 every
    /// repair request of a device still without the list was answered by the gateway: 1,963 repair copies, 31.7 × image.)</summary>
    public bool IsDeliveredTo(uint node, int index) => IsDeliveredTo(node, -1, index);

    /// <summary>True while packet <paramref name="index"/> is still coming to <paramref name="group"/> the planned way:
    /// not yet planned for it (an original will bring it), or planned and its notice not yet back from a device that
    /// can still pass it on, as can the device it comes through (<paramref name="mayForward"/>: online and neither
    /// failed nor rolled back; the plan drops such devices only when the destination list changes). An orphaned
    /// delivery is coming to nobody. False for a group the plan does not hold.</summary>
    public bool IsComing(int group, int index, Func<uint, bool> mayForward)
    {
        lock (_gate)
        {
            if (index < 0 || index >= _chunkCount || !_groups.TryGetValue(group, out GroupPlan? g) || !g.Live) return false;
            if (g.Status[index] == Pending) return true;
            return g.Status[index] == InFlight && !IsOrphan(g, index) && mayForward(g.Owner[index]) && (g.Via[index] == 0 || mayForward(g.Via[index]));
        }
    }

    /// <inheritdoc cref="IsDeliveredTo(uint, int)"/>
    public bool IsDeliveredTo(uint node, int group, int index)
    {
        lock (_gate)
        {
            if (index < 0 || index >= _chunkCount) return true;
            if (_members.TryGetValue(node, out FleetMember? m)) group = m.GroupId;
            return _groups.TryGetValue(group, out GroupPlan? g) && g.Status[index] == Done;
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
                    // an orphaned delivery (its device left) is brought by nobody: a member that holds it serves the group
                    if (status == Done || (status == InFlight && !all && !IsOrphan(_groups[known.GroupId], k))) continue;
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
            if (WaitForReports(g, k, now)) continue; // RolloutScheduler.OrphanSettling: orphaned, its group not heard yet
            if (g.SettleAt[k] != 0 && !IsOrphan(g, k) && SettleOrWait(g, k, now)) continue; // RolloutScheduler.SilentRelays
            // The deadline was set with what the notice timer knew then (at the start of a rollout: nothing). Judged
            // by what it knows now, a delivery that is merely late keeps waiting: late is not lost.
            long due = DueBy(g, k);
            // A silent relay is judged only after its root: whose notice, even late, says the relay has its copy (an
            // orphan's root is gone: no notice will come).
            if (g.Silent[k] && g.SettleAt[k] == 0 && !IsOrphan(g, k)) due += due - g.Planned[k];
            bool queued = false;
            if (due <= now)
            {
                due = QueuedUntil(g, k, now); // RolloutScheduler.Queueing: late behind a queue is not lost
                queued = due > now;
            }
            if (due > now)
            {
                if (queued) QueueWaits++;
                g.Deadline[k] = due;
                _deadlines.Enqueue((g, k), due);
                continue;
            }
            uint owner = g.Owner[k];
            bool relay = g.Via[k] != 0;
            bool quiet = g.Silent[k];
            long before = Reallocations;
            if (!IsOrphan(g, k) && _loads.TryGetValue(owner, out DeviceLoad? silent)) silent.Strikes++;
            Replan(g, k);
            // A silent interior relay's silent children would settle only by it: they go again with it.
            ReleaseSubtree(k, owner, silentToo: quiet);
            if (relay) _replansRelayTimedOut += Reallocations - before;
            else _replansTimedOut += Reallocations - before;
        }
    }

    /// <summary>When delivery (g, k) is due by the notice timer as it stands: from planning, max(MinNoticeTimeout,
    /// 4 × expected, expected + lateness + 4 deviations).</summary>
    private long DueBy(GroupPlan g, int k)
    {
        double seconds = _noticeTimer.TimeoutSeconds(g.Expected[k], _options.MinNoticeTimeout.TotalSeconds);
        return g.Planned[k] + (long)(seconds * _time.TimestampFrequency);
    }
}
