using IotOta.Gateway.Fleet;
using IotOta.Gateway.Scheduling;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace IotOta.Gateway.Core.Tests.Scheduling;

/// <summary>RolloutScheduler.CopyTrees: the gateway chooses each group's root so that the copy-tree work (which the
/// root's place in the member list hands to about half the members) is shared evenly.</summary>
public class RolloutSchedulerCopyTreeTests(ITestOutputHelper output)
{
    private const int Chunks = 64, Chunk = 4096, Fanout = 2;

    private static List<FleetMember> Fleet(int groups, int perGroup) =>
        Enumerable.Range(0, groups)
            .SelectMany(g => Enumerable.Range(0, perGroup).Select(i => new FleetMember((uint)(100 * (g + 1) + i), g + 1, 0x0A000001u, 5000)))
            .ToList();

    /// <summary>Plans every packet at once and counts each device's copies as the devices would send them: the
    /// root's member and relay copies, and every forwarder's copies down the root's tree over its group's list.</summary>
    private Dictionary<uint, int> CopiesPerDevice(List<FleetMember> planned, List<FleetMember> published, out List<SendOrder> orders,
        int ordersPerCall = 64, TimeSpan? step = null)
    {
        var time = new FakeTimeProvider();
        var options = new SchedulerOptions { GroupFanout = Fanout, MaxInFlightPerDevice = Chunks, BacklogHorizon = TimeSpan.FromHours(1), MaxOrdersPerCall = ordersPerCall };
        var scheduler = new RolloutScheduler(Chunks, _ => Chunk, options, new OverheadTable(time), time);
        scheduler.UpdateFleet(planned);
        scheduler.UpdateRings(published);
        orders = new List<SendOrder>();
        for (int i = 0; i < 50 + Chunks && orders.Count < Chunks; i++)
        {
            var planned1 = scheduler.Plan();
            orders.AddRange(planned1);
            // With long steps every delivery notices before the next (else it would time out and go again).
            if (step != null) foreach (SendOrder o in planned1) foreach (var m in new[] { o.Root }.Concat(o.Relays)) scheduler.OnNotice(m.NodeId, o.Index);
            time.Advance(step ?? TimeSpan.FromMilliseconds(10));
        }
        Assert.Equal(Chunks, orders.Count);
        var copies = published.ToDictionary(m => m.NodeId, _ => 0);
        foreach (SendOrder o in orders)
        {
            foreach (var (unit, relays) in new[] { (o.Root, o.Relays.Count) }.Concat(o.Relays.Select(r => (r, 0))))
            {
                uint[] ring = published.Where(m => m.GroupId == unit.GroupId).Select(m => m.NodeId).Order().ToArray();
                CopyTreeShape shape = CopyTreeShape.For(ring.Length, Fanout);
                int at = Array.IndexOf(ring, unit.NodeId);
                copies[unit.NodeId] += Fanout + relays;
                for (int j = 0; j < shape.Count; j++)
                {
                    var (offset, c) = shape.Forwarders(j);
                    copies[ring[(at + offset) % ring.Length]] += c;
                }
            }
        }
        return copies;
    }

    private void AssertEven(Dictionary<uint, int> copies, double within)
    {
        double mean = copies.Values.Average();
        output.WriteLine($"copies per device: min {copies.Values.Min()}, mean {mean:F1}, max {copies.Values.Max()}");
        // Roots chosen without regard to the trees leave it to where they fall: 52 to 74 copies against a mean of
        // 63 in the test below (31 members, 64 packets, fan-out 2).
        Assert.InRange(copies.Values.Max(), 0, within * mean);
        Assert.InRange(copies.Values.Min(), (2 - within) * mean, double.MaxValue);
    }

    [Fact]
    public void Originals_root_in_every_group_not_always_the_first()
    {
        // An original's receiver sends its relay copies too (here 2 more per packet): ranked by finish alone, every
        // idle group ties and the first one took all 64.
        List<FleetMember> fleet = Fleet(groups: 3, perGroup: 31);
        CopiesPerDevice(fleet, fleet, out List<SendOrder> orders);
        var roots = orders.GroupBy(o => o.Root.GroupId).ToDictionary(g => g.Key, g => g.Count());
        output.WriteLine(string.Join(", ", roots.OrderBy(r => r.Key).Select(r => $"group {r.Key}: {r.Value} originals")));
        Assert.Equal(3, roots.Count);
        Assert.All(roots.Values, n => Assert.InRange(n, Chunks / 3 - 6, Chunks / 3 + 6));
    }

    [Fact]
    public void Copy_tree_work_is_shared_evenly_by_what_was_booked_in_the_rollout_not_by_what_is_still_queued()
    {
        // One original at a time, each long after the one before (every booking worked off by the clock): ranked by the
        // backlog still booked, every root candidate tied at nothing and one member took every root and its
        // trees' work again and again (N = 100's group of 12 finished last; its busiest member forwarded 273 copies
        // against a mean of 251). Ranked by what each member was booked in the rollout, the work evens out, and the
        // group one larger than the others shares it as evenly.
        List<FleetMember> fleet = Fleet(groups: 3, perGroup: 11).Concat([new FleetMember(399, 3, 0x0A000001u, 5000)]).ToList();
        AssertEven(CopiesPerDevice(fleet, fleet, out List<SendOrder> orders, ordersPerCall: 1, step: TimeSpan.FromHours(2)), within: 1.08); // by the backlog: one member 256 copies, another none
        Assert.Equal(Enumerable.Range(0, Chunks), orders.Select(o => o.Index).Order()); // every packet once
        var roots = orders.GroupBy(o => o.Root.NodeId).Select(g => g.Count()).ToList();
        output.WriteLine($"originals per root: {string.Join(",", roots.Order())}");
    }

    [Fact]
    public void Copy_tree_work_is_shared_evenly_also_by_members_the_plan_does_not_hold_yet()
    {
        // A fifth of each group has not reported the hash list yet: it is no root, but it is on the devices' lists,
        // so it forwards inside the trees like any other member.
        List<FleetMember> published = Fleet(groups: 2, perGroup: 31);
        List<FleetMember> planned = published.Where(m => m.NodeId % 5 != 0).ToList();
        AssertEven(CopiesPerDevice(planned, published, out _), within: 1.12);
    }
}
