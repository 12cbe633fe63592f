namespace IotOta.Gateway.Scheduling;

/// <summary>
/// Silent relays (issue #15): a relay an original names passes the packet to no other group, and sends no receipt
/// notice. At N = 100 in 9 groups those were 8 of every 9 notices, ~55 KB of the broker's bytes for a 1 MiB image.
/// Its root passes relay copies on before its member copies and notices only once all are out, so the root's notice
/// says the relay has its copy. The relay's delivery then stays in flight — its load booked, as it stayed until its
/// own notice — until its forwarding should be over, and is done then without a notice (<see cref="Settle"/>).
/// <para>When that is, the gateway reckons as the device works (<see cref="DeviceQueue"/>): one job after another at
/// its measured rate, in the order they reached it — a job by when its packet left the gateway (a relay copy leaves
/// its root first, so a relay has it about as early as its root has the original). Every notice of the device's own
/// says where it really is: the jobs that reached it before the noticed one are done, the rest follow from now. No
/// relay settles before the copy-tree copies booked on its device ahead of it (RolloutScheduler.CopyTrees), nor before
/// its root's notice: settled by the reckoning alone, from planning, N = 100 took 12.6–13.2 s instead of ~9.9.
/// A device's first minimum unit of an image always notices (Forwarder.QueueMinimumUnit), so every device's rate is
/// measured, also one that never gets an original; until then its silent jobs wait (<see cref="SettleOrWait"/>),
/// up to their notice deadline:
/// reckoned at the prior rate, a device ten times slower got 1 MB of jobs in the simulated heterogeneous fleet and
/// finished at 87 s instead of 21.</para>
/// <para>Down relay trees the leaves are silent (RolloutScheduler.Trees' PlanTree, once the trees' tables went out
/// TableSettle ago, or at once for the run's first): an interior relay notices once its relay copies are out, and its
/// notice settles its children as a root's does — or, when the gateway can reckon every interior relay of the packet
/// (SchedulerOptions.SilentTreeInterior, FlagSilentTree), it is silent too and settles its children when it settles
/// itself (<see cref="Settle"/>); it notices after all when its forwarding ended late (DeviceConfig.QuietRelayMaxMs). Tried
/// before session 13's scheduling changes, at N = 1,000 in 63 groups that took 34.2–36.8 s against 31.8–32.4 s; now
/// 27.8–28.2 s against 27.8–29.7 s, and 12–17 KB fewer at the broker.</para>
/// A relay that lost its copy or died before passing it on is caught by its group: its members ask peers, then the
/// gateway, which answers (<see cref="IsDeliveredTo(uint, int)"/>). A device that left before its delivery settled
/// is an orphan as before (RolloutScheduler.Departures). A root whose notice is late past its deadline is planned
/// again alone: its silent relays keep their own deadlines (they likely have their copies; sent again, 8 groups would
/// get the packet twice), and the old root's notice, when it comes, still settles them. A relay's own notice, should
/// one come (its first unit, a device that predates this), ends its delivery at once. The gateway asks for silence
/// per original (<see cref="Shared.Protocol.DataPacket.FlagSilentRelays"/>), so a device that predates it notices as
/// before, and a gateway that predates it never asks.
/// </summary>
public sealed partial class RolloutScheduler
{
    /// <summary>(parent, packet) → the groups whose delivery of that packet is a silent relay of that parent's.</summary>
    private readonly Dictionary<(uint Parent, int K), List<GroupPlan>> _silentOf = new();
    private readonly Dictionary<uint, DeviceQueue> _queues = new();

    /// <summary>A device's jobs as the gateway reckons it forwards them: in the order they reached it (when their
    /// packet left the gateway), from <see cref="FreeAt"/>, when it was through with those before them.</summary>
    private sealed class DeviceQueue
    {
        public readonly List<(GroupPlan G, int K, long Arrival)> Jobs = new();
        public long FreeAt;
    }

    /// <summary>True when every delivery not yet done is a silent relay whose root noticed (it has its copy: the packet
    /// reached its group), and at least one is. The rollout may end (every device updated) before they settle; the
    /// engine then reports the packets as delivered. Scans every delivery: for the end of a run, not every pass.</summary>
    public bool OnlySettlingLeft()
    {
        lock (_gate)
        {
            bool any = false;
            foreach (GroupPlan g in _live)
            {
                for (int k = 0; k < _chunkCount; k++)
                {
                    if (g.Status[k] == Done) continue;
                    if (g.Status[k] != InFlight || !g.Silent[k] || g.SettleAt[k] == 0) return false;
                    any = true;
                }
            }
            return any;
        }
    }

    /// <summary>Silent relay deliveries ended when their settle time came, without a notice.</summary>
    public long SilentSettled { get; private set; }

    private void RememberSilent(uint parent, int k, GroupPlan g)
    {
        if (!_silentOf.TryGetValue((parent, k), out List<GroupPlan>? list)) _silentOf[(parent, k)] = list = new List<GroupPlan>();
        list.Add(g);
    }

    /// <summary>Called under the gate when node noticed packet k (also when it is no longer that packet's root: a
    /// late notice after its delivery timed out still says its relays have their copies): its silent relays of k
    /// settle once they should have forwarded them. A relay copy leaves its root first, so it reached the relay about
    /// when the root got the packet: it queues on the relay's device by the planning time (the root's and its
    /// relays' are one).</summary>
    private void SettleSilentRelays(uint node, int k, long arrival = long.MinValue)
    {
        if (!_silentOf.Remove((node, k), out List<GroupPlan>? groups)) return;
        foreach (GroupPlan g in groups)
        {
            if (g.Status[k] != InFlight || g.Via[k] != node || !g.Silent[k] || g.SettleAt[k] != 0) continue;
            if (!_members.ContainsKey(g.Owner[k]) || IsOrphan(g, k)) continue; // gone: RolloutScheduler.Departures
            g.SettleAt[k] = long.MinValue; // settling; Reckon sets when
            Enqueue(g.Owner[k], g, k, Math.Max(arrival, g.Planned[k]));
        }
    }

    /// <summary>Delivery (g, k) reached its device at about <paramref name="arrival"/>: it queues there in arrival
    /// order, and the queue is reckoned again.</summary>
    private void Enqueue(uint node, GroupPlan g, int k, long arrival)
    {
        if (!_queues.TryGetValue(node, out DeviceQueue? q)) _queues[node] = q = new DeviceQueue();
        q.Jobs.RemoveAll(x => ReferenceEquals(x.G, g) && x.K == k); // planned again to the same device
        int at = q.Jobs.Count;
        while (at > 0 && q.Jobs[at - 1].Arrival > arrival) at--;
        q.Jobs.Insert(at, (g, k, arrival));
        Reckon(node, q);
    }

    /// <summary>Reckons when the device is through with each job it holds, one after another from when it was free;
    /// a silent relay's delivery settles then. Jobs that ended or were planned again leave the queue (a settled one
    /// at its head: the device is free after it).</summary>
    private void Reckon(uint node, DeviceQueue q)
    {
        int kept = 0;
        long t = q.FreeAt;
        for (int i = 0; i < q.Jobs.Count; i++)
        {
            var (h, j, arrival) = q.Jobs[i];
            if (!IsQueued(h, j, node))
            {
                if (kept == 0 && h.Status[j] == Done && h.Owner[j] == node && h.Silent[j]) q.FreeAt = t = Math.Max(t, h.SettleAt[j]);
                continue;
            }
            q.Jobs[kept++] = q.Jobs[i];
            t = Math.Max(t, arrival) + TicksToForward(h, j, node);
            if (h.SettleAt[j] == 0) continue;
            // The copy-tree copies booked on the device before this job are forwarded before it too.
            long due = Math.Max(t, h.TreeUntil[j]);
            if (h.SettleAt[j] == due) continue;
            h.SettleAt[j] = due;
            h.Deadline[j] = due;
            _deadlines.Enqueue((h, j), due);
        }
        q.Jobs.RemoveRange(kept, q.Jobs.Count - kept);
    }

    /// <summary>Under the gate: node noticed its delivery (g, k). The jobs that reached it before that one are done
    /// (the device forwards in order; the silent ones among them settle now), the rest follow from now. A job not in
    /// the queue (a silent relay noticing before its root did: the device's first) tells only the device's rate: the
    /// queue is reckoned again with it.</summary>
    private void Resync(uint node, GroupPlan g, int k, long now)
    {
        if (!_queues.TryGetValue(node, out DeviceQueue? q)) return;
        int at = q.Jobs.FindIndex(x => ReferenceEquals(x.G, g) && x.K == k);
        if (at < 0)
        {
            Reckon(node, q);
            return;
        }
        var settle = new List<(GroupPlan G, int K)>();
        for (int i = 0; i < at; i++)
        {
            var (h, j, _) = q.Jobs[i];
            if (IsQueued(h, j, node) && h.SettleAt[j] != 0 && !IsOrphan(h, j)) settle.Add((h, j));
        }
        q.Jobs.RemoveRange(0, at + 1);
        q.FreeAt = now;
        // Settled after the queue was cut: a settled interior relay queues its children, maybe on this device.
        foreach (var (h, j) in settle) if (IsQueued(h, j, node)) Settle(h, j, now);
        Reckon(node, q);
    }

    /// <summary>A device whose jobs the gateway can reckon: not measured yet (its first minimum unit notices, and its
    /// silent jobs wait for that: <see cref="SettleOrWait"/>), or measured at no less than a quarter of the fleet's
    /// median rate. The copy-tree copies a device forwards are booked at the median: on a device ten times slower its
    /// silent jobs would settle long before it is through (the real heterogeneous fleet at N = 100, a quarter of it
    /// ten times slower, took 93.6 s against 71.7 s with every named relay silent; asking silence only of devices
    /// already measured, the first wave of originals went out before any was, and N = 100 cost 1,135–1,136 KB at the
    /// broker against 1,120 KB).</summary>
    private bool Reckonable(uint node) =>
        !_selector.IsMeasured(node) || double.IsNaN(_typicalRate) || _selector.RateOf(node) >= ReckonableRateShare * _typicalRate;

    private const double ReckonableRateShare = 0.25;

    private static bool IsQueued(GroupPlan g, int k, uint node) => g.Status[k] == InFlight && g.Owner[k] == node;

    private long TicksToForward(GroupPlan g, int k, uint node) => (long)(g.Bytes[k] / _selector.RateOf(node) * _time.TimestampFrequency);

    /// <summary>Under the gate: a silent relay's settle time came. Done, as its notice would have made it — unless no
    /// notice has measured its device's rate yet (it was reckoned by the prior rate, and a device ten times slower
    /// would be taken as done long before it is: in the simulated heterogeneous fleet such a device got 1 MB of
    /// jobs and finished at 87 s instead of 21). Every device notices its first job of an image, so it waits for
    /// that, up to the delivery's notice deadline; past it, the delivery times out as any other. Returns false when
    /// it timed out.</summary>
    private bool SettleOrWait(GroupPlan g, int k, long now)
    {
        if (_selector.IsMeasured(g.Owner[k]) || g.Bytes[k] <= 0) // nothing to forward (a one-member group): done
        {
            Settle(g, k, now);
            return true;
        }
        long limit = DueBy(g, k);
        if (now > limit) return false;
        // Its first notice re-times the device's queue (Resync); else the notice deadline holds.
        g.Deadline[k] = limit;
        _deadlines.Enqueue((g, k), limit);
        return true;
    }

    /// <summary>A silent relay's delivery whose settle time came: done, as its notice would have made it.</summary>
    private void Settle(GroupPlan g, int k, long now)
    {
        MarkDone(g, k, now);
        SilentSettled++;
        // A silent interior relay of a tree (FlagSilentTree): its children follow, their copies out about when it
        // began forwarding (relay copies go first).
        long end = g.SettleAt[k] > 0 ? Math.Min(g.SettleAt[k], now) : now;
        SettleSilentRelays(g.Owner[k], k, end - TicksToForward(g, k, g.Owner[k]));
    }
}
