using IotOta.Gateway.Fleet;

namespace IotOta.Gateway.Scheduling;

/// <summary>
/// Copy trees inside groups (issue #14): the member that receives a minimum unit copies it to at most fan-out members,
/// which pass it on (<see cref="CopyTreeShape"/>); where the root sits in its group's member list decides which
/// members forward that packet and which forward nothing. No notice reports a forwarder's copies, so the gateway chose
/// each root by the root's own backlog alone and the forwarding fell on members by chance: at N = 1,000 in 9 groups
/// the busiest device uploaded 302–351 KiB against a median of 258 KiB. Now every root's job and tree is booked on
/// its members, and of the candidate roots that would finish within the backlog horizon of the best
/// (IntermediateSelector.Pick) the one whose tree has the least Σ copies × what its members were booked so far in the
/// rollout wins (<see cref="TreeRank"/>): the greedy step that keeps Σ load² of the whole image's copies smallest.
/// (Ranked by the backlog still booked instead — worked off by the clock at the median rate — the roots and minimum
/// units fell unevenly, 0–7 roots and 15–26 minimum units per member at N = 100, and the members that got the most
/// forwarded 273–277 copies against a mean of 254; their groups finished last.)
/// The trees are laid over the member lists as published to the devices (<see cref="UpdateRings"/>: every online
/// member, also one the plan does not hold yet), since that is the list the devices split.
/// </summary>
public sealed partial class RolloutScheduler
{
    private readonly Dictionary<(int Members, int Fanout), CopyTreeShape> _shapes = new();
    /// <summary>Per group: the node ids of its published member list, in list (node-id) order.</summary>
    private readonly Dictionary<int, uint[]> _rings = new();
    /// <summary>Per node: when its booked copy-tree copies are expected to be out (TimeProvider timestamp).</summary>
    private readonly Dictionary<uint, long> _treeBusy = new();
    private double _typicalRate = double.NaN;

    /// <summary>The member lists the devices hold (the destination list as published), so the gateway lays each
    /// copy tree over the same ring the devices do.</summary>
    public void UpdateRings(IEnumerable<FleetMember> published)
    {
        lock (_gate)
        {
            _rings.Clear();
            foreach (var g in published.GroupBy(m => m.GroupId)) _rings[g.Key] = g.Select(m => m.NodeId).Order().ToArray();
        }
    }

    private uint[] RingOf(GroupPlan g) =>
        _rings.TryGetValue(g.Id, out uint[]? ring) && ring.Length > 0 ? ring : g.Members.Select(m => m.NodeId).ToArray();

    /// <summary>The copy tree over a ring of n members, or null when the root copies to everyone itself (full mesh,
    /// or too small for anyone else to forward).</summary>
    private CopyTreeShape? ShapeOf(int n)
    {
        int f = _options.GroupFanout;
        if (f <= 0 || n <= 2) return null;
        if (!_shapes.TryGetValue((n, f), out CopyTreeShape? shape))
        {
            shape = CopyTreeShape.For(n, f);
            _shapes[(n, f)] = shape;
        }
        return shape.Count == 0 ? null : shape;
    }

    /// <summary>The rate every device's tree copies are booked at: the median of the measured forwarding rates (the
    /// prior before any notice), so the trees share out bytes. Not each device's own rate: measured from its notices,
    /// that includes the time its own tree copies took, and at N = 100 (bench defaults, one uplink speed for all) it
    /// ranged from 26 to 85 KB/s; booked at it, the devices measured fastest uploaded 1.6 × what the slowest did and
    /// the rollout took 13.3–14.1 s instead of 9.9 s. Most members of a large fleet are never a root, so no notice
    /// measures them at all.</summary>
    private double TreeRate(uint node) => double.IsNaN(_typicalRate) ? _selector.RateOf(node) : _typicalRate;

    /// <summary>Refreshes the median measured rate (Plan calls it with the remaining-time estimate); silent relays are
    /// asked only of devices near it (RolloutScheduler.SilentRelays).</summary>
    private void RefreshTypicalRate()
    {
        var rates = new List<double>();
        foreach (var g in _live)
        {
            foreach (var m in g.Members)
            {
                if (_selector.IsMeasured(m.NodeId)) rates.Add(_selector.RateOf(m.NodeId));
            }
        }
        if (rates.Count == 0) return;
        rates.Sort();
        _typicalRate = rates[rates.Count / 2];
    }

    /// <summary>Per node: the copy bytes booked on it so far in the rollout (its own jobs and its copy-tree copies).</summary>
    private readonly Dictionary<uint, double> _treeBooked = new();

    /// <summary>What node was booked so far, in seconds of forwarding: at the median rate (<see cref="TreeRate"/>: the
    /// trees share out bytes), but at its own for a device measured at under half of it, so a slow member's share of
    /// the trees weighs as the time it takes. (At the median for all, the real heterogeneous N = 100 took 76.3 s with
    /// 16 deliveries planned again; so, 74.9–75.4 s with 2, its median device at 26.0–26.4 s against 35.6–45.0 s with
    /// the backlog ranking, which took 71.0–89.0 s.)</summary>
    private double BookedSeconds(uint node)
    {
        double typical = TreeRate(node);
        double booked = _treeBooked.GetValueOrDefault(node);
        if (!_selector.IsMeasured(node) || double.IsNaN(_typicalRate)) return booked / typical;
        double own = _selector.RateOf(node);
        return booked / (own < SlowTreeShare * typical ? own : typical);
    }

    private const double SlowTreeShare = 0.5;

    /// <summary>For ranking candidate roots of group g: Σ copies × booked seconds over the members of the tree the
    /// candidate would root, itself included with its own copies (<paramref name="extraRootCopies"/> more: the relay
    /// copies an original's root sends) — the greedy step that keeps Σ load² smallest. Null when the group has no copy
    /// tree.</summary>
    private Func<FleetMember, double>? TreeRank(GroupPlan g, int extraRootCopies = 0)
    {
        uint[] ring = RingOf(g);
        CopyTreeShape? shape = ShapeOf(ring.Length);
        if (shape == null) return null;
        int n = ring.Length;
        int rootCopies = RootCopies(g) + extraRootCopies;
        var backlog = new double[n];
        for (int i = 0; i < n; i++) backlog[i] = BookedSeconds(ring[i]);
        return m =>
        {
            int at = Array.BinarySearch(ring, m.NodeId);
            if (at < 0) return 0;
            double sum = rootCopies * backlog[at];
            for (int j = 0; j < shape.Count; j++)
            {
                var (offset, copies) = shape.Forwarders(j);
                sum += copies * backlog[(at + offset) % n];
            }
            return sum;
        };
    }

    /// <summary>Books the root's own job (rootBytes: its member and relay copies) and the copies its tree hands each
    /// forwarder of group g for a packet of chunk bytes.</summary>
    private void BookTree(GroupPlan g, uint root, double rootBytes, int chunk, long now)
    {
        uint[] ring = RingOf(g);
        CopyTreeShape? shape = ShapeOf(ring.Length);
        if (shape == null) return; // no tree: nothing ranks by the bookings
        Book(root, rootBytes, now);
        int at = Array.BinarySearch(ring, root);
        if (at < 0) return;
        int n = ring.Length;
        for (int j = 0; j < shape.Count; j++)
        {
            var (offset, copies) = shape.Forwarders(j);
            Book(ring[(at + offset) % n], copies * (double)chunk, now);
        }
    }

    private void Book(uint node, double bytes, long now)
    {
        _treeBooked[node] = _treeBooked.GetValueOrDefault(node) + bytes;
        long from = Math.Max(now, _treeBusy.GetValueOrDefault(node));
        _treeBusy[node] = from + (long)(bytes / TreeRate(node) * _time.TimestampFrequency);
    }
}
