using IotOta.Gateway.Fleet;
using IotOta.Gateway.Scheduling;
using IotOta.Gateway.Core.Tests.Support;
using IotOta.Shared.Protocol;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace IotOta.Gateway.Core.Tests.Scheduling;

/// <summary>More groups than one original can name: packets go down relay trees, so the gateway sends each once.</summary>
public class RelayTreeSchedulingTests(ITestOutputHelper output)
{
    private static List<SimDevice> Fleet(int groups, int perGroup) =>
        Enumerable.Range(0, groups).SelectMany(g => Enumerable.Range(0, perGroup).Select(i =>
            new SimDevice((uint)(1000 * (g + 1) + i), g + 1, 250_000, clockOffsetMs: 7L * (g + i)))).ToList();

    [Fact]
    public void Two_hundred_groups_get_each_packet_from_the_gateway_exactly_once()
    {
        var devices = Fleet(groups: 200, perGroup: 3);
        var sim = new SchedulerSimulation(devices, chunkCount: 40, chunkSize: 1024, new SchedulerOptions(), gatewayUploadBytesPerSecond: 1_000_000);
        Assert.True(sim.Run(maxSeconds: 60));
        output.WriteLine($"completed in {sim.CompletedAt:F3} s; trees {sim.Scheduler.Forest!.TreeCount}, depth {sim.Scheduler.Forest.Depth}");

        Assert.Equal(40, sim.Orders.Count);
        Assert.Equal(Enumerable.Range(0, 40), sim.Orders.Select(o => o.Order.Index).OrderBy(k => k));
        Assert.All(sim.Orders, o =>
        {
            Assert.True(o.Order.Tree);
            Assert.Equal(RelayForest.FanOut, o.Order.Relays.Count);
            Assert.Equal(200 - 1 - RelayForest.FanOut, o.Order.Deep.Count);
            Assert.Equal(200, new[] { o.Order.Root }.Concat(o.Order.Relays).Concat(o.Order.Deep).Select(m => m.GroupId).Distinct().Count());
        });
        Assert.Equal(40, sim.Scheduler.OriginalsPlanned);
        Assert.Equal(40 * 199, sim.Scheduler.RelaysPlanned);
        Assert.Equal(0, sim.Scheduler.Reallocations);
        // Every group got every packet exactly once as a minimum unit, through the tables alone below level 1.
        Assert.Equal(200 * 40, sim.MinimumUnits.Count);
        Assert.All(sim.MinimumUnits, kv => Assert.Equal(1, kv.Value));
        // Down relay trees the leaves (no children at their position) send no notice but their device's first, and
        // with FlagSilentTree the interior relays neither (RolloutScheduler.SilentRelays): their deliveries settle at
        // the gateway, every other one is noticed.
        var f = sim.Scheduler.Forest;
        bool Leaf(SendOrder o, FleetMember m) => f.ChildCount(f.PositionOf(f.TreeOf(o.Index), m.GroupId)) == 0;
        int leaves = Enumerable.Range(1, 199).Count(p => f.ChildCount(p) == 0);
        int quietTrees = sim.Orders.Count(o => o.Order.SilentTree);
        output.WriteLine($"silent settled {sim.Scheduler.SilentSettled}, notices {sim.NoticesDelivered}, quiet interiors {sim.QuietInteriors}, orders with silent interiors {quietTrees}");
        Assert.Equal(200 * 40, sim.NoticesDelivered + sim.Scheduler.SilentSettled);
        Assert.True(quietTrees > 0);
        Assert.InRange(sim.Scheduler.SilentSettled, 40 * leaves - devices.Count + sim.QuietInteriors, 40 * leaves + quietTrees * (199 - leaves));
        Assert.All(sim.Orders, o => Assert.Equal(o.Order.Relays.Concat(o.Order.Deep).Where(m => o.Order.SilentTree || Leaf(o.Order, m)).Select(m => m.NodeId), o.Order.Silent));
    }

    [Fact]
    public void Order_predicts_what_the_tables_deliver_and_fan_out_respects_MaxTargets()
    {
        var (s, _, _) = Scheduler(groups: 200, perGroup: 4, chunks: 16);
        var orders = s.Plan();
        var tables = s.RelayTables(9).ToDictionary(t => t.GroupId);
        // Every group has one table; it is empty (a leaf of every tree) only when the group has no children below level 1.
        Assert.Equal(200, tables.Count);
        Assert.All(tables.Values, t => Assert.InRange(t.ChildCount, s.Forest!.HasChildrenBelowLevel1(t.GroupId) ? 1 : 0, s.Forest.HasChildrenBelowLevel1(t.GroupId) ? RelayForest.FanOut : 0));
        Assert.All(orders, o => Assert.Equal(RelayForest.FanOut, o.Relays.Count));
        Assert.True(RelayForest.FanOut <= DataPacket.MaxTargets);
        // Walk the tree as the devices do: level 1 named in the original, deeper from each group's table.
        foreach (var o in orders) Assert.Equal(o.Relays.Concat(o.Deep).Select(m => m.NodeId).OrderBy(n => n), Reached(o, d => tables.GetValueOrDefault(d.GroupId)));
    }

    /// <summary>The devices a packet reaches down its tree: the relays its original names, then whoever the table of
    /// each device reached (tableOf; null: none) names for it, in node order.</summary>
    private static IEnumerable<uint> Reached(SendOrder o, Func<FleetMember, RelayTree?> tableOf)
    {
        var reached = new List<uint>();
        var frontier = new Queue<FleetMember>(o.Relays);
        while (frontier.Count > 0)
        {
            var d = frontier.Dequeue();
            reached.Add(d.NodeId);
            RelayTree? t = tableOf(d);
            if (t == null || !t.RelaysPacket(o.Index)) continue;
            for (int c = 0; c < t.ChildCount; c++)
            {
                int slot = t.SlotFor(c, o.Index);
                frontier.Enqueue(new FleetMember(t.CandidateNode[slot], t.ChildGroup[c], t.CandidateIp[slot], t.CandidatePort[slot]));
            }
        }
        return reached.OrderBy(n => n);
    }

    [Theory]
    [InlineData(63, 16, 64)]
    [InlineData(200, 0, 16)]
    [InlineData(40, 0, 256)]
    public void The_published_tables_level_1_per_group_and_deeper_per_device_deliver_what_the_orders_predict(int groups, int perGroup, int chunks)
    {
        // perGroup 0: uneven groups of 3 to 7 members, so a device's lists are cut to more than one candidate.
        var clock = new FakeTimeProvider();
        var s = new RolloutScheduler(chunks, _ => 1024, new SchedulerOptions { MaxInFlightPerDevice = 1000, BacklogHorizon = TimeSpan.FromHours(1) }, new OverheadTable(clock), clock);
        var members = Enumerable.Range(0, groups).SelectMany(g => Enumerable.Range(0, perGroup > 0 ? perGroup : 3 + g % 5)
            .Select(i => new FleetMember((uint)(1000 * (g + 1) + i), g + 1, 0x0A000001, 5000 + i))).ToList();
        s.UpdateFleet(members);
        var (groupTables, deviceTables) = s.PublishedRelayTables(9);
        var forest = s.Forest!;
        Assert.All(groupTables.Where(t => t.ChildCount > 0), t => Assert.InRange(forest.PositionOf(t.Tree, t.GroupId), 1, RelayForest.FanOut));
        // the empty tables of the groups that are leaves in every tree go to the group, whatever its positions
        Assert.Equal(forest.GroupIds.Where(g => !forest.HasChildrenBelowLevel1(g)), groupTables.Where(t => t.ChildCount == 0).Select(t => t.GroupId).OrderBy(g => g));
        Assert.All(deviceTables, d => Assert.True(forest.PositionOf(d.Table.Tree, d.Table.GroupId) > RelayForest.FanOut));
        Assert.NotEmpty(deviceTables);
        var byGroup = groupTables.ToDictionary(t => t.GroupId);
        var byDevice = deviceTables.ToDictionary(d => d.Node, d => d.Table);
        // Every table is smaller than its group's whole table, and the device tables together cost less than the group
        // tables they replace would to every member.
        var full = s.RelayTables(9).ToDictionary(t => t.GroupId);
        Assert.All(deviceTables, d => Assert.True(d.Table.ToBytes().Length <= full[d.Table.GroupId].ToBytes().Length));
        long replaced = full.Values.Where(t => !byGroup.ContainsKey(t.GroupId)).Sum(t => (long)t.ToBytes().Length * members.Count(m => m.GroupId == t.GroupId));
        Assert.True(deviceTables.Sum(d => (long)d.Table.ToBytes().Length) < replaced / 2, $"device tables {deviceTables.Sum(d => d.Table.ToBytes().Length)} B, group tables to every member {replaced} B");
        var orders = new List<SendOrder>();
        for (int round = 0; round < chunks && orders.Count < chunks; round++) orders.AddRange(s.Plan());
        Assert.Equal(chunks, orders.Count);
        // As the devices do: level 1 named in the original, deeper from the device's own table, else its group's.
        foreach (var o in orders)
        {
            Assert.Equal(o.Relays.Concat(o.Deep).Select(m => m.NodeId).OrderBy(n => n),
                Reached(o, d => byDevice.GetValueOrDefault(d.NodeId) ?? byGroup.GetValueOrDefault(d.GroupId)));
        }
    }

    [Fact]
    public void A_relay_that_goes_silent_has_its_whole_subtree_replanned_and_nothing_else()
    {
        var (s, clock, members) = Scheduler(groups: 200, perGroup: 3, chunks: 1);
        var order = Assert.Single(s.Plan());
        var forest = s.Forest!;
        int tree = forest.TreeOf(0);
        FleetMember silent = order.Relays[0];                       // the first level-1 relay (position 1)
        int position = forest.PositionOf(tree, silent.GroupId);
        var subtree = forest.SubtreeOf(position).Select(p => forest.GroupAt(tree, p)).ToHashSet();
        Assert.Equal(4 + 16 + 64, subtree.Count);                  // positions 5..8, 21..36, 85..148 (200 groups: 1 + 4 + 16 + 64 + 115)
        var lost = subtree.Append(silent.GroupId).ToHashSet();
        // Everyone else reports; the silent relay and (so) its subtree do not.
        foreach (var d in new[] { order.Root }.Concat(order.Relays).Concat(order.Deep).Where(d => !lost.Contains(d.GroupId)))
            s.OnNotice(d.NodeId, 0);
        Assert.Empty(s.Plan());
        clock.Advance(TimeSpan.FromSeconds(30));
        var again = s.Plan();
        Assert.Equal(lost.Count, s.Reallocations);
        Assert.All(again, o => Assert.False(o.Tree));                // a flat re-plan of what is missing
        var regrouped = again.SelectMany(o => new[] { o.Root }.Concat(o.Relays)).ToList();
        Assert.Equal(lost.OrderBy(g => g), regrouped.Select(m => m.GroupId).OrderBy(g => g));
        Assert.DoesNotContain(regrouped, m => m.NodeId == silent.NodeId); // the silent one is shunned
        Assert.Equal((lost.Count + DataPacket.MaxTargets) / (1 + DataPacket.MaxTargets), again.Count);
        foreach (var m in regrouped) s.OnNotice(m.NodeId, 0);
        Assert.True(s.AllDelivered);
    }

    [Fact]
    public void A_deep_relay_that_leaves_takes_only_its_subtree_with_it()
    {
        var (s, clock, members) = Scheduler(groups: 200, perGroup: 3, chunks: 1);
        var order = Assert.Single(s.Plan());
        var forest = s.Forest!;
        int tree = forest.TreeOf(0);
        // A level-2 device with children of its own.
        FleetMember gone = order.Deep.First(d => forest.ChildCount(forest.PositionOf(tree, d.GroupId)) > 0);
        var subtree = forest.SubtreeOf(forest.PositionOf(tree, gone.GroupId)).Select(p => forest.GroupAt(tree, p)).ToHashSet();
        Assert.NotEmpty(subtree);
        s.UpdateFleet(members.Where(m => m.NodeId != gone.NodeId));
        Assert.Equal(subtree.Count + 1, s.OrphanCount);       // they wait for a holder, its return or the deadline
        Assert.Equal(0, s.Reallocations);
        Assert.Empty(s.Plan());
        // everyone outside the lost subtree notices
        var lost = subtree.Append(gone.GroupId).ToHashSet();
        foreach (var d in new[] { order.Root }.Concat(order.Relays).Concat(order.Deep).Where(d => !lost.Contains(d.GroupId)))
            s.OnNotice(d.NodeId, 0);
        clock.Advance(TimeSpan.FromSeconds(30));
        var again = s.Plan();
        Assert.Equal(subtree.Count + 1, s.Reallocations);
        var regrouped = again.SelectMany(o => new[] { o.Root }.Concat(o.Relays)).Select(m => m.GroupId).OrderBy(g => g);
        Assert.Equal(subtree.Append(gone.GroupId).OrderBy(g => g), regrouped);
    }

    [Fact]
    public void A_saturated_call_plans_nothing_and_leaves_every_group_pending()
    {
        var (s, _, _) = Scheduler(groups: 50, perGroup: 1, chunks: 200);
        int first = s.Plan().Count;
        Assert.InRange(first, 1, 199);                                  // the one device per group limits what is in flight
        Assert.Empty(s.Plan());
        Assert.Equal((0, 50 * 200), s.Progress);
        Assert.Equal(first, s.OriginalsPlanned);
    }

    [Fact]
    public void Nine_groups_or_fewer_keep_one_original_naming_every_group()
    {
        var (s, _, _) = Scheduler(groups: 9, perGroup: 2, chunks: 4);
        Assert.Null(s.Forest);
        Assert.Empty(s.RelayTables(1));
        var orders = s.Plan();
        Assert.All(orders, o => { Assert.False(o.Tree); Assert.Equal(8, o.Relays.Count); Assert.Empty(o.Deep); });
    }

    [Fact]
    public void Tables_are_rebuilt_when_a_group_appears_and_the_epoch_grows()
    {
        var (s, _, members) = Scheduler(groups: 20, perGroup: 2, chunks: 4);
        uint epoch = s.TreeEpoch;
        s.UpdateFleet(members); // nothing changed: same tables
        Assert.Equal(epoch, s.TreeEpoch);
        s.UpdateFleet(members.Append(new FleetMember(99_999, 21, 0x0A000001, 5000)));
        Assert.Equal(epoch + 1, s.TreeEpoch);
        Assert.Equal(21, s.Forest!.GroupCount);
        Assert.All(s.RelayTables(3), t => Assert.Equal(epoch + 1, t.Epoch));
    }

    [Fact]
    public void Before_any_device_may_take_data_the_trees_are_laid_over_the_expected_fleet_and_kept_when_it_takes_it()
    {
        var clock = new FakeTimeProvider();
        var s = new RolloutScheduler(4, _ => 1024, new SchedulerOptions(), new OverheadTable(clock), clock);
        var members = Enumerable.Range(0, 20).SelectMany(g => Enumerable.Range(0, 2)
            .Select(i => new FleetMember((uint)(1000 * (g + 1) + i), g + 1, 0x0A000001, 5000 + i))).ToList();
        s.UpdateFleet([], members);
        Assert.True(s.TreesAhead);
        Assert.Equal(20, s.Forest!.GroupCount);
        Assert.Empty(s.Plan()); // nobody takes data yet
        var ahead = s.PublishedRelayTables(7);
        uint epoch = s.TreeEpoch;

        s.UpdateFleet(members, members); // every one of them holds the list now
        Assert.False(s.TreesAhead);
        Assert.Equal(epoch, s.TreeEpoch); // the same trees: the tables need not go out again
        var live = s.PublishedRelayTables(7);
        Assert.Equal(ahead.Groups.Select(t => t.ToBytes()), live.Groups.Select(t => t.ToBytes()));
        Assert.Equal(ahead.Devices.Select(d => (d.Node, d.Table.ToBytes())), live.Devices.Select(d => (d.Node, d.Table.ToBytes())));
        Assert.NotEmpty(s.Plan());

        s.UpdateFleet(members.Where(m => m.GroupId != 20)); // a group never got the list: trees without it
        Assert.Equal(epoch + 1, s.TreeEpoch);
        Assert.Equal(19, s.Forest!.GroupCount);
    }

    [Fact]
    public void Without_an_expected_fleet_no_trees_are_laid_while_nobody_takes_data()
    {
        var clock = new FakeTimeProvider();
        var s = new RolloutScheduler(4, _ => 1024, new SchedulerOptions(), new OverheadTable(clock), clock);
        s.UpdateFleet([]);
        Assert.Null(s.Forest);
        Assert.False(s.TreesAhead);
    }

    [Fact]
    public void A_device_whose_only_jobs_are_deep_in_the_trees_is_free_to_be_a_root_or_a_level_one_relay()
    {
        // 63 groups of 16 (N = 1,000's shape), 4 KiB packets, the uplink rate as prior (100 kbit/s): a root's or level-1
        // relay's job (2 member copies and 4 relay copies, 24 KiB) is past the backlog horizon, a deep position's
        // (2 member copies, 0.65 s) too. Counted, every member of a tree's root group held a deep job from the other
        // trees after 16 packets and planning stopped there, waiting seconds for notices.
        var clock = new FakeTimeProvider();
        var s = new RolloutScheduler(64, _ => 4096, new SchedulerOptions { PriorForwardRate = 12_500 }, new OverheadTable(clock), clock);
        var members = Enumerable.Range(0, 63).SelectMany(g => Enumerable.Range(0, 16)
            .Select(i => new FleetMember((uint)(1000 * (g + 1) + i), g + 1, 0x0A000001, 5000 + i))).ToList();
        s.UpdateFleet(members);
        var orders = s.Plan();
        int trees = s.Forest!.TreeCount;
        output.WriteLine($"{orders.Count} originals planned at once, {trees} trees");
        Assert.Equal(3, trees);
        Assert.Equal(64, orders.Count); // every packet at once: no position waits for a backlog to drain
        // Every member of every group receives as many packets of the image as the others (64 over 16: 4 each),
        // whether the gateway steered it (root, level 1) or the rotation named it: the copy-tree work inside a group
        // falls on its members by where the packets land, and is even only then.
        var received = orders.SelectMany(o => new[] { o.Root }.Concat(o.Relays).Concat(o.Deep)).GroupBy(m => m.NodeId).ToDictionary(g => g.Key, g => g.Count());
        Assert.All(members, m => Assert.Equal(4, received.GetValueOrDefault(m.NodeId)));
        Assert.All(s.Loads(), l => Assert.InRange(l.InFlight, 0, new SchedulerOptions().MaxInFlightPerDevice));
    }

    [Fact]
    public void A_level_one_device_measured_far_slower_than_the_fleet_is_passed_over_for_one_of_its_group()
    {
        var clock = new FakeTimeProvider();
        var overheads = new OverheadTable(clock);
        var s = new RolloutScheduler(64, _ => 4096, new SchedulerOptions { PriorForwardRate = 12_500 }, overheads, clock);
        var members = Enumerable.Range(0, 63).SelectMany(g => Enumerable.Range(0, 16)
            .Select(i => new FleetMember((uint)(1000 * (g + 1) + i), g + 1, 0x0A000001, 5000 + i))).ToList();
        s.UpdateFleet(members);
        // Every device measured at the uplink rate but 2000 (group 2, at level 1 of the first tree): ten times slower.
        foreach (var m in members) overheads.RegisterSend(m.NodeId, 0);
        clock.Advance(TimeSpan.FromSeconds(4));
        foreach (var m in members)
        {
            int busyMs = m.NodeId == 2000 ? 3_277 : 328; // one 4 KiB copy at 1,250 or 12,500 B/s
            overheads.RegisterNotice(new ReceiptNotice { NodeId = m.NodeId, Index = 0, ReceiveTimeMs = 0, ForwardedTimeMs = busyMs, CopiesSent = 1 }, 4096);
        }
        Assert.Equal(1_250, overheads.ForwardRate(2000), 0);
        var orders = s.Plan();
        Assert.NotEmpty(orders);
        Assert.DoesNotContain(orders.SelectMany(o => new[] { o.Root }.Concat(o.Relays)), m => m.NodeId == 2000);
    }

    private static (RolloutScheduler S, FakeTimeProvider Clock, List<FleetMember> Members) Scheduler(int groups, int perGroup, int chunks)
    {
        var clock = new FakeTimeProvider();
        var s = new RolloutScheduler(chunks, _ => 1024, new SchedulerOptions(), new OverheadTable(clock), clock);
        var members = Enumerable.Range(0, groups).SelectMany(g => Enumerable.Range(0, perGroup)
            .Select(i => new FleetMember((uint)(1000 * (g + 1) + i), g + 1, 0x0A000001, 5000 + i))).ToList();
        s.UpdateFleet(members);
        return (s, clock, members);
    }
}
