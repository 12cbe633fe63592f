using IotOta.Gateway.Fleet;
using IotOta.Gateway.Scheduling;
using Microsoft.Extensions.Time.Testing;

namespace IotOta.Gateway.Core.Tests.Scheduling;

/// <summary>RolloutScheduler.SkipHeld: what devices report holding marks deliveries done, but never takes a delivery
/// away from the device still bringing it.</summary>
public class RolloutSchedulerSkipHeldTests
{
    private static readonly FleetMember A = new(1, 1, 0, 1), B = new(2, 1, 0, 2), C = new(3, 1, 0, 3);

    private static RolloutScheduler Scheduler(FakeTimeProvider clock)
    {
        var s = new RolloutScheduler(4, _ => 1000, new SchedulerOptions { CrossGroup = false }, new OverheadTable(clock), clock);
        s.UpdateFleet([A, B, C]);
        return s;
    }

    [Fact]
    public void A_packet_one_member_holds_and_nobody_brings_is_the_groups()
    {
        var clock = new FakeTimeProvider();
        var s = Scheduler(clock);
        int skipped = s.SkipHeld([A, B, C], (node, k) => node == 2 && k == 1);
        Assert.Equal(1, skipped);
        Assert.True(s.IsDeliveredTo(1, 1));
        Assert.False(s.IsDeliveredTo(1, 0));
        Assert.DoesNotContain(s.Plan(), o => o.Index == 1); // never sent into the group again
    }

    [Fact]
    public void A_delivery_on_its_way_stays_with_its_owner_while_only_the_owner_holds_it()
    {
        var clock = new FakeTimeProvider();
        var s = Scheduler(clock);
        SendOrder first = s.Plan().First(o => o.Index == 0);
        uint owner = first.Root.NodeId;
        double loadBefore = s.Loads().Single(l => l.NodeId == owner).InFlightBytes;
        Assert.True(loadBefore > 0);

        // The owner received it and reports holding it while it still forwards to its members.
        int skipped = s.SkipHeld([A, B, C], (node, k) => node == owner && k == 0);

        Assert.Equal(0, skipped);
        Assert.False(s.IsDeliveredTo(owner, 0));
        Assert.Equal(loadBefore, s.Loads().Single(l => l.NodeId == owner).InFlightBytes); // its work still counts
    }

    [Fact]
    public void A_delivery_on_its_way_is_done_once_every_member_holds_it()
    {
        var clock = new FakeTimeProvider();
        var s = Scheduler(clock);
        SendOrder first = s.Plan().First(o => o.Index == 0);
        double loadBefore = s.Loads().Single(l => l.NodeId == first.Root.NodeId).InFlightBytes;
        int skipped = s.SkipHeld([A, B, C], (_, k) => k == 0);
        Assert.Equal(1, skipped);
        Assert.True(s.IsDeliveredTo(first.Root.NodeId, 0));
        Assert.Equal(loadBefore - 2 * 1000, s.Loads().Single(l => l.NodeId == first.Root.NodeId).InFlightBytes); // two member copies released
    }

    [Fact]
    public void Members_the_scheduler_does_not_know_mark_nothing()
    {
        var clock = new FakeTimeProvider();
        var s = Scheduler(clock);
        var stranger = new FleetMember(9, 1, 0, 9);
        Assert.Equal(0, s.SkipHeld([stranger], (_, _) => true));
        Assert.False(s.IsDeliveredTo(1, 0));
    }
}
