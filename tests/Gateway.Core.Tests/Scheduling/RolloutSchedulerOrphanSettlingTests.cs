using IotOta.Gateway.Scheduling;
using Microsoft.Extensions.Time.Testing;
using static IotOta.Gateway.Core.Tests.Scheduling.RolloutSchedulerDeparturesTests;

namespace IotOta.Gateway.Core.Tests.Scheduling;

/// <summary>An orphaned delivery is planned again only once its group reported what it holds since the departure, or
/// SchedulerOptions.OrphanSettle passed (RolloutScheduler.OrphanSettling); a member known to hold it then ends it.</summary>
public class RolloutSchedulerOrphanSettlingTests
{
    /// <summary>Plans packet 0 at t = 0, the relay's group notices it, the root leaves at t = 4.5 s (its deadline,
    /// 5 s from planning, is close). Returns the scheduler, the clock, the gone root and the root's group mates.</summary>
    private static (RolloutScheduler S, FakeTimeProvider Clock, uint Root, uint[] Mates) RootLeftLate(Func<uint, int, bool>? knownHeld)
    {
        var clock = new FakeTimeProvider();
        var s = new RolloutScheduler(1, _ => 1000, new SchedulerOptions(), new OverheadTable(clock), clock) { KnownHeld = knownHeld };
        s.UpdateFleet(All);
        var order = Assert.Single(s.Plan());
        uint root = order.Root.NodeId, relay = Assert.Single(order.Relays).NodeId;
        s.OnNotice(relay, 0);
        clock.Advance(TimeSpan.FromSeconds(4.5));
        s.UpdateFleet(Without(root));
        uint[] mates = All.Where(m => m.GroupId == order.Root.GroupId && m.NodeId != root).Select(m => m.NodeId).ToArray();
        return (s, clock, root, mates);
    }

    [Fact]
    public void Past_its_deadline_an_orphan_waits_for_its_groups_reports_and_a_mate_that_holds_the_packet_ends_it()
    {
        var holds = new HashSet<uint>();
        var (s, clock, _, mates) = RootLeftLate((n, k) => holds.Contains(n));
        clock.Advance(TimeSpan.FromSeconds(1));      // 5.5 s: past the deadline, nobody reported since the departure
        Assert.Empty(s.Plan());
        Assert.Equal(1, s.OrphanCount);
        holds.Add(mates[1]);                         // the root copied it to this mate before it died
        foreach (uint m in mates) s.OnReport(m);
        clock.Advance(TimeSpan.FromSeconds(0.3));
        Assert.Empty(s.Plan());                      // no original again
        Assert.True(s.AllDelivered);
        Assert.Equal(0, s.OrphanCount);
        Assert.Equal(1, s.OrphansHeld);
        Assert.Equal(0, s.OrphansReplanned);
        Assert.Equal(0, s.Reallocations);
    }

    [Fact]
    public void Once_every_member_reported_and_none_holds_it_the_packet_goes_again_without_waiting_for_the_settle_bound()
    {
        var (s, clock, root, mates) = RootLeftLate((_, _) => false);
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Empty(s.Plan());
        s.OnReport(mates[0]);
        clock.Advance(TimeSpan.FromSeconds(0.3));
        Assert.Empty(s.Plan());                      // one member has not reported yet
        s.OnReport(mates[1]);
        clock.Advance(TimeSpan.FromSeconds(0.3));    // 6.1 s, well before 4.5 + OrphanSettle (5 s)
        var again = Assert.Single(s.Plan());
        Assert.NotEqual(root, again.Root.NodeId);
        Assert.Equal(1, s.OrphansReplanned);
    }

    [Fact]
    public void Without_reports_the_orphan_goes_again_when_the_settle_bound_passed()
    {
        var (s, clock, _, _) = RootLeftLate(null);
        clock.Advance(TimeSpan.FromSeconds(4.9));    // 9.4 s: 4.9 s since the departure
        Assert.Empty(s.Plan());
        clock.Advance(TimeSpan.FromSeconds(0.2));    // 9.6 s: OrphanSettle (5 s) passed
        Assert.Single(s.Plan());
        Assert.Equal(1, s.OrphansReplanned);
        Assert.Equal(0, s.OrphanCount);
    }

    [Fact]
    public void A_report_from_before_the_departure_does_not_count()
    {
        var clock = new FakeTimeProvider();
        var s = new RolloutScheduler(1, _ => 1000, new SchedulerOptions(), new OverheadTable(clock), clock);
        s.UpdateFleet(All);
        var order = Assert.Single(s.Plan());
        s.OnNotice(Assert.Single(order.Relays).NodeId, 0);
        foreach (var m in All) s.OnReport(m.NodeId); // reports at t = 0
        clock.Advance(TimeSpan.FromSeconds(4.5));
        s.UpdateFleet(Without(order.Root.NodeId));
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Empty(s.Plan());
        Assert.Equal(1, s.OrphanCount);
    }
}
