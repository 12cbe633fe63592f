using IotOta.Gateway.Fleet;
using IotOta.Gateway.Scheduling;
using IotOta.Shared.Protocol;
using Microsoft.Extensions.Time.Testing;

namespace IotOta.Gateway.Core.Tests.Scheduling;

/// <summary>When the gateway asks a relay tree's relays for silence (RolloutScheduler.SilentRelays): once the run's
/// first tables went out, and after a rebuild only once the new tables went out a while ago (a device with an older
/// table could take itself for a leaf where the new trees make it relay); the tables' epoch never starts below one an
/// earlier engine for the same image published.</summary>
public class RelayTreeSilenceTests
{
    private static (RolloutScheduler S, FakeTimeProvider Clock, OverheadTable Overheads, List<FleetMember> Members) Scheduler(int groups = 10, int perGroup = 5, int chunks = 40)
    {
        var clock = new FakeTimeProvider();
        var overheads = new OverheadTable(clock);
        var s = new RolloutScheduler(chunks, _ => 1024, new SchedulerOptions { MaxInFlightPerDevice = 1000, BacklogHorizon = TimeSpan.FromHours(1), MaxOrdersPerCall = 8 }, overheads, clock);
        var members = Enumerable.Range(0, groups).SelectMany(g => Enumerable.Range(0, perGroup)
            .Select(i => new FleetMember((uint)(1000 * (g + 1) + i), g + 1, 0x0A000001, 5000 + i))).ToList();
        s.UpdateFleet(members);
        return (s, clock, overheads, members);
    }

    /// <summary>The relays of the order at leaf positions of its tree.</summary>
    private static HashSet<uint> Leaves(RelayForest f, SendOrder o) =>
        o.Relays.Concat(o.Deep).Where(m => f.ChildCount(f.PositionOf(f.TreeOf(o.Index), m.GroupId)) == 0).Select(m => m.NodeId).ToHashSet();

    /// <summary>The relays of the order with children in its tree.</summary>
    private static HashSet<uint> Interiors(RelayForest f, SendOrder o) =>
        o.Relays.Concat(o.Deep).Where(m => f.ChildCount(f.PositionOf(f.TreeOf(o.Index), m.GroupId)) > 0).Select(m => m.NodeId).ToHashSet();

    [Fact]
    public void The_trees_relays_are_asked_for_silence_once_the_first_tables_went_out_and_after_a_rebuild_once_the_new_ones_went_out_a_while_ago()
    {
        var (s, clock, _, members) = Scheduler();
        var f = s.Forest!;
        var before = s.Plan();
        Assert.NotEmpty(before);
        Assert.All(before, o => Assert.False(o.SilentRelays)); // no tables out yet
        Assert.All(before, o => Assert.Empty(o.Silent));

        // The first tables of the run: no device holds an older one of this run's trees, and one without a table
        // owes its tree copies and notices, so silence may start at once.
        s.TablesPublished(s.TreeEpoch);
        var first = s.Plan();
        Assert.NotEmpty(first);
        Assert.All(first, o =>
        {
            Assert.True(o.SilentRelays);
            Assert.True(o.SilentTree); // nobody measured yet: every interior relay can be reckoned
            Assert.Equal(Leaves(f, o).Union(Interiors(f, o)).ToHashSet(), o.Silent);
            Assert.NotEmpty(Interiors(f, o));
        });

        // (every device of those orders notices: nothing times out below)
        foreach (SendOrder o in before.Concat(first))
            foreach (FleetMember m in o.Relays.Concat(o.Deep).Prepend(o.Root)) s.OnNotice(m.NodeId, o.Index);

        // A group appears: new trees, a new epoch. A device may still hold the old table and take itself for a leaf
        // where the new trees make it relay: no silence until the new tables went out TableSettle ago.
        s.UpdateFleet(members.Append(new FleetMember(99_000, 99, 0x0A000001, 5000)).ToList());
        Assert.NotSame(f, s.Forest);
        f = s.Forest!;
        clock.Advance(TimeSpan.FromSeconds(5));
        var rebuilt = s.Plan();
        Assert.NotEmpty(rebuilt);
        Assert.All(rebuilt, o => Assert.False(o.SilentRelays));
        s.TablesPublished(s.TreeEpoch);
        clock.Advance(RolloutScheduler.TableSettle - TimeSpan.FromMilliseconds(100));
        Assert.All(s.Plan(), o => Assert.False(o.SilentRelays)); // out, but maybe not arrived
        clock.Advance(TimeSpan.FromMilliseconds(100));
        var after = s.Plan();
        Assert.NotEmpty(after);
        Assert.All(after, o =>
        {
            Assert.True(o.SilentRelays);
            Assert.Equal(Leaves(f, o).Union(o.SilentTree ? Interiors(f, o) : []).ToHashSet(), o.Silent);
        });
    }

    [Fact]
    public void A_roots_notice_settles_the_silent_interior_relays_once_reckoned_through_and_each_its_children_after_it()
    {
        var (s, clock, overheads, members) = Scheduler(chunks: 1);
        foreach (FleetMember m in members)
        {
            // every device measured at 100,000 B/s
            overheads.RegisterSend(m.NodeId, 0);
            overheads.RegisterNotice(new ReceiptNotice { NodeId = m.NodeId, ImageId = 1, Index = 0, Kind = ReceiptNotice.KindOriginal, ReceiveTimeMs = 0, ForwardedTimeMs = 10, CopiesSent = 1 }, 1000);
        }
        s.TablesPublished(s.TreeEpoch);
        SendOrder o = Assert.Single(s.Plan());
        Assert.True(o.SilentTree);
        RelayForest f = s.Forest!;
        int tree = f.TreeOf(0);
        var doneAt = new Dictionary<int, int>(); // position in the tree -> the step its group had the packet
        for (int step = 0; step < 2000 && doneAt.Count < f.GroupCount; step++)
        {
            if (step == 2) s.OnNotice(o.Root.NodeId, 0); // the only notice of the tree
            for (int p = 0; p < f.GroupCount; p++)
            {
                uint member = members.First(m => m.GroupId == f.GroupAt(tree, p)).NodeId;
                if (!doneAt.ContainsKey(p) && s.IsDeliveredTo(member, 0)) doneAt[p] = step;
            }
            clock.Advance(TimeSpan.FromMilliseconds(1));
            s.Plan();
        }
        Assert.Equal(f.GroupCount, doneAt.Count);
        Assert.True(s.AllDelivered);
        Assert.Equal(f.GroupCount - 1, s.SilentSettled);
        Assert.Equal(0, s.Reallocations);
        for (int p = 1; p < f.GroupCount; p++)
        {
            int parent = RelayForest.Parent(p);
            Assert.True(doneAt[p] >= doneAt[parent], $"position {p} done at {doneAt[p]} ms, its parent {parent} at {doneAt[parent]}");
            if (parent == 0) Assert.True(doneAt[p] > doneAt[0], $"level 1 position {p} done with its root's notice"); // reckoned through first
        }
        Assert.Contains(Enumerable.Range(1, f.GroupCount - 1), p => f.ChildCount(p) > 0 && RelayForest.Parent(p) == 0);
    }

    [Fact]
    public void A_silent_interior_relay_that_times_out_goes_again_with_its_silent_children()
    {
        var (s, clock, _, members) = Scheduler(chunks: 1); // nobody measured: silent jobs wait for a first notice
        s.TablesPublished(s.TreeEpoch);
        SendOrder o = Assert.Single(s.Plan());
        Assert.True(o.SilentTree);
        RelayForest f = s.Forest!;
        int tree = f.TreeOf(0);
        s.OnNotice(o.Root.NodeId, 0); // the root's notice: its level-1 relays settle once measured, which never happens
        IReadOnlyList<SendOrder> again = [];
        for (int step = 0; step < 6000 && again.Count == 0; step++)
        {
            clock.Advance(TimeSpan.FromMilliseconds(10));
            again = s.Plan();
        }
        var groups = again.SelectMany(a => a.Relays.Concat(a.Deep).Prepend(a.Root)).Select(m => m.GroupId).ToHashSet();
        var interiors = Enumerable.Range(1, f.GroupCount - 1).Where(p => f.ChildCount(p) > 0 && groups.Contains(f.GroupAt(tree, p))).ToList();
        Assert.NotEmpty(interiors); // the level-1 relays timed out
        foreach (int p in interiors)
            for (int c = 1; c < f.GroupCount; c++)
                if (RelayForest.Parent(c) == p) Assert.Contains(f.GroupAt(tree, c), groups); // and their children went with them
    }

    [Fact]
    public void Without_silent_interiors_in_the_options_only_the_leaves_are_silent()
    {
        var clock = new FakeTimeProvider();
        var s = new RolloutScheduler(40, _ => 1024, new SchedulerOptions { MaxInFlightPerDevice = 1000, BacklogHorizon = TimeSpan.FromHours(1), MaxOrdersPerCall = 8, SilentTreeInterior = false },
            new OverheadTable(clock), clock);
        s.UpdateFleet(Enumerable.Range(0, 10).SelectMany(g => Enumerable.Range(0, 5).Select(i => new FleetMember((uint)(1000 * (g + 1) + i), g + 1, 0x0A000001, 5000 + i))).ToList());
        s.TablesPublished(s.TreeEpoch);
        var orders = s.Plan();
        Assert.NotEmpty(orders);
        Assert.All(orders, o =>
        {
            Assert.False(o.SilentTree);
            Assert.Equal(Leaves(s.Forest!, o), o.Silent);
        });
    }

    [Fact]
    public void The_tables_epoch_starts_at_the_wall_clock_so_a_later_engine_for_the_same_image_publishes_newer_tables()
    {
        var (first, clock, _, members) = Scheduler();
        uint e = first.TreeEpoch;
        Assert.True(e >= (uint)clock.GetUtcNow().ToUnixTimeSeconds());
        // the first engine rebuilt its trees a few times (devices came and went)
        for (int i = 0; i < 3; i++) first.UpdateFleet(members.Take(members.Count - 5 * (i % 2)).ToList());
        Assert.True(first.TreeEpoch > e);
        clock.Advance(TimeSpan.FromSeconds(10)); // a gateway restart, or the campaign's next phase
        var second = new RolloutScheduler(40, _ => 1024, new SchedulerOptions(), new OverheadTable(clock), clock);
        second.UpdateFleet(members);
        Assert.True(second.TreeEpoch > first.TreeEpoch, $"{second.TreeEpoch} after {first.TreeEpoch}");
        Assert.All(second.RelayTables(9), t => Assert.Equal(second.TreeEpoch, t.Epoch));
    }
}
