using IotOta.Gateway.Fleet;
using IotOta.Gateway.Scheduling;
using IotOta.Shared.Protocol;
using Microsoft.Extensions.Time.Testing;

namespace IotOta.Gateway.Core.Tests.Scheduling;

/// <summary>When the gateway asks a relay tree's leaves for silence (RolloutScheduler.SilentRelays): only once the
/// tables of the trees in use went out a while ago (a device with an older table could take itself for a leaf where the
/// new trees make it relay); the tables' epoch never starts below one an earlier engine for the same image
/// published.</summary>
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

    [Fact]
    public void Leaves_are_asked_for_silence_only_once_the_tables_of_the_trees_in_use_went_out_a_while_ago()
    {
        var (s, clock, _, members) = Scheduler();
        var f = s.Forest!;
        var before = s.Plan();
        Assert.NotEmpty(before);
        Assert.All(before, o => Assert.False(o.SilentRelays)); // no tables out yet
        Assert.All(before, o => Assert.Empty(o.Silent));

        s.TablesPublished(s.TreeEpoch);
        clock.Advance(RolloutScheduler.TableSettle - TimeSpan.FromMilliseconds(100));
        Assert.All(s.Plan(), o => Assert.False(o.SilentRelays)); // out, but maybe not arrived
        clock.Advance(TimeSpan.FromMilliseconds(100));
        var after = s.Plan();
        Assert.NotEmpty(after);
        Assert.All(after, o =>
        {
            Assert.True(o.SilentRelays);
            Assert.Equal(Leaves(f, o), o.Silent);
            Assert.NotEmpty(o.Silent);
        });

        // A group appears: new trees, a new epoch, whose tables are not out: no silence until they are.
        s.UpdateFleet(members.Append(new FleetMember(99_000, 99, 0x0A000001, 5000)).ToList());
        Assert.NotSame(f, s.Forest);
        clock.Advance(TimeSpan.FromSeconds(5));
        var rebuilt = s.Plan();
        Assert.NotEmpty(rebuilt);
        Assert.All(rebuilt, o => Assert.False(o.SilentRelays));
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
