using IotOta.Gateway.Fleet;
using IotOta.Gateway.Scheduling;
using Microsoft.Extensions.Time.Testing;
using static IotOta.Gateway.Core.Tests.Scheduling.RolloutSchedulerDeparturesTests;

namespace IotOta.Gateway.Core.Tests.Scheduling;

/// <summary>An orphaned delivery whose group holds the packet nowhere while another group does is brought in by a
/// cross-group donor order (RolloutScheduler.CrossGroupRescue) before the original goes out again.</summary>
public class RolloutSchedulerRescueTests
{

    /// <summary>Plans packet 0, kills its root; the relay's group noticed it. Returns the scheduler, the clock, the gone
    /// root, a live member of the root's group and the rescue calls (group, packet).</summary>
    private static (RolloutScheduler S, FakeTimeProvider Clock, uint Root, uint Mate, List<(int, int)> Calls) RootLeftRelayHolds(bool rescues)
    {
        var clock = new FakeTimeProvider();
        var s = new RolloutScheduler(1, _ => 1000, new SchedulerOptions(), new OverheadTable(clock), clock);
        s.UpdateFleet(All);
        var calls = new List<(int, int)>();
        s.CrossGroupRescue = (g, k) => { calls.Add((g, k)); return rescues; };
        var order = Assert.Single(s.Plan());
        uint root = order.Root.NodeId, relay = Assert.Single(order.Relays).NodeId;
        s.OnNotice(relay, 0); // the relay's group holds it
        s.UpdateFleet(Without(root));
        uint mate = All.First(m => m.GroupId == order.Root.GroupId && m.NodeId != root).NodeId;
        return (s, clock, root, mate, calls);
    }

    [Fact]
    public void At_its_deadline_the_orphan_is_ordered_across_groups_and_its_notice_ends_it_without_a_resend()
    {
        var (s, clock, root, mate, calls) = RootLeftRelayHolds(rescues: true);
        clock.Advance(TimeSpan.FromSeconds(5.1));
        Assert.Empty(s.Plan()); // no original again: a device of the other group sends it in
        int group = All.First(m => m.NodeId == root).GroupId;
        Assert.Equal([(group, 0)], calls);
        Assert.Equal(1, s.OrphansRescued);
        Assert.Equal(0, s.OrphansReplanned);
        s.OnNotice(mate, 0); // the member the order named copied it on and noticed
        Assert.True(s.AllDelivered);
        Assert.Equal(0, s.OrphanCount);
        clock.Advance(TimeSpan.FromSeconds(60));
        Assert.Empty(s.Plan());
        Assert.Equal(0, s.Reallocations);
    }

    [Fact]
    public void When_the_ordered_copy_does_not_come_the_packet_goes_again_once_after_one_more_notice_timeout()
    {
        var (s, clock, _, _, calls) = RootLeftRelayHolds(rescues: true);
        clock.Advance(TimeSpan.FromSeconds(5.1));
        Assert.Empty(s.Plan());
        clock.Advance(TimeSpan.FromSeconds(4.9));
        Assert.Empty(s.Plan());
        clock.Advance(TimeSpan.FromSeconds(0.2));
        Assert.Single(s.Plan()); // the order failed: sent again, and the rescue is not tried twice
        Assert.Single(calls);
        Assert.Equal(1, s.OrphansReplanned);
    }

    [Fact]
    public void Without_a_holder_elsewhere_the_orphan_is_planned_again_at_its_deadline()
    {
        var (s, clock, _, _, calls) = RootLeftRelayHolds(rescues: false);
        clock.Advance(TimeSpan.FromSeconds(5.1));
        Assert.Single(s.Plan());
        Assert.Single(calls);
        Assert.Equal(0, s.OrphansRescued);
        Assert.Equal(1, s.OrphansReplanned);
    }

    [Fact]
    public void A_device_that_returns_does_not_take_a_rescued_delivery_back()
    {
        var (s, clock, root, _, _) = RootLeftRelayHolds(rescues: true);
        clock.Advance(TimeSpan.FromSeconds(5.1));
        Assert.Empty(s.Plan());
        s.UpdateFleet(All); // the root is back, without the packet
        Assert.Equal(0, s.SkipHeld(All, (_, _) => false));
        Assert.Equal(0, s.ReleaseReturned());
        Assert.Empty(s.Plan());
        Assert.Equal(1, s.OrphanCount);
    }
}
