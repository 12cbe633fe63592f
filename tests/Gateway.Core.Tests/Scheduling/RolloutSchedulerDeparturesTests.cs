using IotOta.Gateway.Fleet;
using IotOta.Gateway.Scheduling;
using Microsoft.Extensions.Time.Testing;

namespace IotOta.Gateway.Core.Tests.Scheduling;

/// <summary>A device that goes offline holding work (RolloutScheduler.Departures): its deliveries wait for a member
/// that holds the packet, its return or their deadline, and what no member holds goes out once.</summary>
public class RolloutSchedulerDeparturesTests
{
    // two groups of three; cross-group: one original per packet, with one relay in the other group
    internal static readonly FleetMember A1 = new(1, 1, 1, 1), A2 = new(2, 1, 2, 2), A3 = new(3, 1, 3, 3);
    internal static readonly FleetMember B1 = new(11, 2, 11, 11), B2 = new(12, 2, 12, 12), B3 = new(13, 2, 13, 13);
    internal static readonly FleetMember[] All = [A1, A2, A3, B1, B2, B3];

    private static (RolloutScheduler S, FakeTimeProvider Clock) Scheduler(int chunks = 1)
    {
        var clock = new FakeTimeProvider();
        var s = new RolloutScheduler(chunks, _ => 1000, new SchedulerOptions(), new OverheadTable(clock), clock);
        s.UpdateFleet(All);
        return (s, clock);
    }

    internal static IEnumerable<FleetMember> Without(params uint[] gone) => All.Where(m => !gone.Contains(m.NodeId));

    /// <summary>The devices told the gateway what they hold (progress reports): orphaned deliveries of their groups
    /// have settled (RolloutScheduler.OrphanSettling).</summary>
    internal static void Reported(RolloutScheduler s, IEnumerable<FleetMember> members)
    {
        foreach (var m in members) s.OnReport(m.NodeId);
    }

    [Fact]
    public void A_member_that_holds_the_packet_of_a_root_that_left_serves_its_group_and_nothing_goes_again()
    {
        var (s, clock) = Scheduler();
        var order = Assert.Single(s.Plan());
        uint root = order.Root.NodeId, relay = Assert.Single(order.Relays).NodeId;
        s.UpdateFleet(Without(root));
        s.OnNotice(relay, 0);
        // the root passed a member copy to one group mate before it died
        uint mate = All.First(m => m.GroupId == order.Root.GroupId && m.NodeId != root).NodeId;
        Assert.Equal(1, s.SkipHeld(Without(root), (n, k) => n == mate && k == 0));
        Assert.True(s.AllDelivered);
        Assert.Equal(0, s.OrphanCount);
        clock.Advance(TimeSpan.FromSeconds(60));
        Assert.Empty(s.Plan());
        Assert.Equal(0, s.Reallocations);
        Assert.Equal(2, s.DeliveriesOrphaned);
        Assert.Equal(0, s.OrphansReplanned);
        Assert.All(s.Loads(), l => Assert.Equal(0, l.InFlight));
    }

    [Fact]
    public void Without_a_holder_a_member_missing_it_is_not_enough_the_group_waits_until_the_deadline()
    {
        var (s, clock) = Scheduler();
        var order = Assert.Single(s.Plan());
        uint root = order.Root.NodeId;
        s.UpdateFleet(Without(root));
        Assert.Equal(0, s.SkipHeld(Without(root), (_, _) => false));
        clock.Advance(TimeSpan.FromSeconds(4.9));
        Assert.Empty(s.Plan());                       // waits for its return (MinNoticeTimeout 5 s from planning)
        clock.Advance(TimeSpan.FromSeconds(0.2));
        var again = Assert.Single(s.Plan());          // one original for both groups (the relay's went with its root)
        Assert.Equal(2, s.Reallocations);
        Assert.Equal(2, s.OrphansReplanned);
        Assert.NotEqual(root, again.Root.NodeId);
        Assert.Single(again.Relays);
        Assert.Equal(0, s.OrphanCount);
    }

    [Fact]
    public void A_root_that_comes_back_holding_the_packet_serves_its_group_and_the_relays_group_gets_it_once()
    {
        var (s, clock) = Scheduler();
        var order = Assert.Single(s.Plan());
        var root = order.Root;
        uint relay = Assert.Single(order.Relays).NodeId;
        s.UpdateFleet(Without(root.NodeId, relay)); // both gone (one fleet process)
        Assert.Equal(2, s.OrphanCount);
        clock.Advance(TimeSpan.FromSeconds(3));
        s.UpdateFleet(Without(relay));               // the root is back and reported: it holds packet 0
        Reported(s, Without(relay));
        Assert.Equal(1, s.SkipHeld(Without(relay), (n, k) => n == root.NodeId));
        s.ReleaseReturned();                         // the relay's delivery, if it was orphaned through the root
        clock.Advance(TimeSpan.FromSeconds(2.1));    // else at its deadline (5 s from planning)
        var again = Assert.Single(s.Plan());
        Assert.NotEqual(root.GroupId, again.Root.GroupId);   // only the relay's group, as one original
        Assert.Empty(again.Relays);
        Assert.Equal(0, s.Loads().Single(l => l.NodeId == root.NodeId).InFlight);
        Assert.Equal(0, s.Loads().Single(l => l.NodeId == relay).InFlight);
    }

    [Fact]
    public void A_device_that_comes_back_without_the_packet_has_its_work_planned_again_at_once()
    {
        var (s, _) = Scheduler(chunks: 2);
        var orders = s.Plan();
        Assert.Equal(2, orders.Count);
        uint root = orders[0].Root.NodeId;
        s.UpdateFleet(Without(root));
        int orphaned = s.OrphanCount;
        Assert.True(orphaned >= 2);
        Assert.Equal(0, s.ReleaseReturned());        // not back yet
        s.UpdateFleet(All);
        Reported(s, All);                            // its group's reports (what they hold) came since it left
        Assert.Equal(0, s.SkipHeld(All, (_, _) => false));
        Assert.True(s.ReleaseReturned() >= 1);       // before the deadline
        Assert.NotEmpty(s.Plan());
        Assert.DoesNotContain(s.Loads(), l => l.InFlight < 0);
    }

    [Fact]
    public void An_order_withdrawn_after_its_root_left_goes_again_at_once_and_keeps_the_loads_whole()
    {
        var (s, _) = Scheduler();
        var order = Assert.Single(s.Plan());
        s.UpdateFleet(Without(order.Root.NodeId)); // it left while the order waited for the uplink
        s.Withdraw(order);                          // never published: nothing to wait for
        Assert.Equal(0, s.OrphanCount);
        var again = Assert.Single(s.Plan());
        Assert.NotEqual(order.Root.NodeId, again.Root.NodeId);
        Assert.All(s.Loads().Where(l => l.NodeId != again.Root.NodeId && !again.Relays.Any(r => r.NodeId == l.NodeId)),
            l => Assert.Equal(0, l.InFlight));
        Assert.DoesNotContain(s.Loads(), l => l.InFlight < 0);
    }

    [Fact]
    public void A_packet_that_goes_again_for_one_group_takes_the_other_groups_waiting_for_it_along()
    {
        var (s, _) = Scheduler();
        var order = Assert.Single(s.Plan());
        uint root = order.Root.NodeId, relay = Assert.Single(order.Relays).NodeId;
        s.UpdateFleet(Without(relay));          // the relay leaves first (its delivery waits for it)
        s.UpdateFleet(Without(relay, root));    // then the root
        Assert.Equal(2, s.OrphanCount);
        s.UpdateFleet(Without(relay));          // the root is back, without the packet: its group needs it again now
        Reported(s, Without(relay));            // and every online device reported since (the relay's group too)
        Assert.Equal(0, s.SkipHeld(Without(relay), (_, _) => false));
        Assert.Equal(1, s.ReleaseReturned());
        var again = Assert.Single(s.Plan());    // one original for both groups, not a second one at the relay's deadline
        Assert.Single(again.Relays);
        Assert.Equal(0, s.OrphanCount);
        Assert.Equal(2, s.OrphansReplanned);
    }

    [Fact]
    public void A_root_and_its_relay_gone_together_and_the_root_back_without_the_packet_plan_it_once_with_whole_books()
    {
        var (s, _) = Scheduler();
        var order = Assert.Single(s.Plan());
        uint root = order.Root.NodeId, relay = Assert.Single(order.Relays).NodeId;
        s.UpdateFleet(Without(root, relay));     // one fleet process killed
        s.UpdateFleet(Without(relay));           // the root is back and reported: it does not hold the packet
        Reported(s, Without(relay));
        Assert.Equal(0, s.SkipHeld(Without(relay), (_, _) => false));
        s.ReleaseReturned();
        Assert.Equal(0, s.OrphanCount);
        Assert.Equal(2, s.Reallocations);        // each delivery planned again once
        Assert.Equal((0, 2), s.Progress);
        var again = Assert.Single(s.Plan());
        Assert.Single(again.Relays);
        Assert.Empty(s.Plan());                  // nothing owed twice
        Assert.DoesNotContain(s.Loads(), l => l.InFlight < 0);
        s.OnNotice(again.Root.NodeId, 0);
        s.OnNotice(again.Relays[0].NodeId, 0);
        Assert.True(s.AllDelivered);
        Assert.Empty(s.Plan());
        Assert.All(s.Loads(), l => Assert.Equal(0, l.InFlight));
    }
}
