using IotOta.Gateway.Fleet;
using IotOta.Gateway.Scheduling;
using Microsoft.Extensions.Time.Testing;

namespace IotOta.Gateway.Core.Tests.Scheduling;

public class RolloutSchedulerWithdrawTests
{
    [Fact]
    public void A_withdrawn_order_is_planned_again_at_once_with_the_devices_left()
    {
        var clock = new FakeTimeProvider();
        var s = new RolloutScheduler(1, _ => 1000, new SchedulerOptions(), new OverheadTable(clock), clock);
        var a = new FleetMember(1, 1, 1, 1);
        var a2 = new FleetMember(3, 1, 3, 3);
        var b = new FleetMember(2, 2, 2, 2);
        s.UpdateFleet([a, a2, b]);
        var first = Assert.Single(s.Plan());
        Assert.Single(first.Relays); // one original for both groups: a root in one, a relay in the other
        Assert.Empty(s.Plan());      // both deliveries in flight
        s.Withdraw(first);           // the root went offline before the original left the gateway
        Assert.Equal(1, s.OrdersWithdrawn);
        Assert.Equal(2, s.Reallocations); // the root's delivery and the relay's, which was to come through it
        var again = Assert.Single(s.Plan()); // no deadline had to pass
        Assert.Equal(0, again.Index);
        s.OnNotice(again.Root.NodeId, 0);
        foreach (var r in again.Relays) s.OnNotice(r.NodeId, 0);
        Assert.True(s.AllDelivered);
    }

    [Fact]
    public void Withdrawing_an_order_whose_deliveries_moved_on_changes_nothing()
    {
        var clock = new FakeTimeProvider();
        var s = new RolloutScheduler(1, _ => 1000, new SchedulerOptions { CrossGroup = false }, new OverheadTable(clock), clock);
        var a = new FleetMember(1, 1, 1, 1);
        s.UpdateFleet([a]);
        var first = Assert.Single(s.Plan());
        s.OnNotice(1, 0);
        s.Withdraw(first);
        Assert.True(s.AllDelivered);
        Assert.Equal(0, s.Reallocations);
        s.Withdraw(first with { Index = 5 }); // out of range: ignored
        Assert.Empty(s.Plan());
    }
}
