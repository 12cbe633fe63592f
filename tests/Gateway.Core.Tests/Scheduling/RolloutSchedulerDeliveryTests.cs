using IotOta.Gateway.Fleet;
using IotOta.Gateway.Scheduling;
using Microsoft.Extensions.Time.Testing;

namespace IotOta.Gateway.Core.Tests.Scheduling;

/// <summary>RolloutScheduler.IsDeliveredTo: whether a device's group already has a packet (the gateway answers repair
/// requests only for such packets).</summary>
public class RolloutSchedulerDeliveryTests
{
    private static RolloutScheduler Scheduler(FakeTimeProvider clock, params FleetMember[] members)
    {
        var s = new RolloutScheduler(4, _ => 1000, new SchedulerOptions(), new OverheadTable(clock), clock);
        s.UpdateFleet(members);
        return s;
    }

    [Fact]
    public void A_packet_is_delivered_to_the_whole_group_once_one_member_noticed_it()
    {
        var clock = new FakeTimeProvider();
        var a = new FleetMember(1, 1, 0, 1);
        var b = new FleetMember(2, 1, 0, 2);
        var c = new FleetMember(3, 2, 0, 3);
        var s = Scheduler(clock, a, b, c);
        Assert.False(s.IsDeliveredTo(2, 0));
        s.Plan(); // in flight is not delivered
        Assert.False(s.IsDeliveredTo(2, 0));
        s.OnNotice(1, 0);
        Assert.True(s.IsDeliveredTo(2, 0));
        Assert.True(s.IsDeliveredTo(1, 0));
        Assert.False(s.IsDeliveredTo(3, 0)); // the other group still waits for its relay's notice
        Assert.False(s.IsDeliveredTo(2, 1));
    }

    [Fact]
    public void A_device_the_plan_does_not_hold_is_judged_by_its_group_and_bad_indices_are_not_held_back()
    {
        var clock = new FakeTimeProvider();
        var s = Scheduler(clock, new FleetMember(1, 1, 0, 1));
        // device 99 of group 1 is not in the plan (not on the destination list yet; on protocol v2, without the hash list)
        Assert.False(s.IsDeliveredTo(99, 1, 0)); // packet 0 is still on its way to group 1
        s.Plan();
        s.OnNotice(1, 0);
        Assert.True(s.IsDeliveredTo(99, 1, 0)); // group 1 has it: device 99 lost a peer copy
        Assert.False(s.IsDeliveredTo(99, 7, 0)); // nothing known of group 7
        Assert.False(s.IsDeliveredTo(99, 0)); // group not given: nothing known
        Assert.True(s.IsDeliveredTo(1, -1));
        Assert.True(s.IsDeliveredTo(1, 4));
        Assert.False(s.IsDeliveredTo(1, 3));
    }
}
