using IotOta.Gateway.Fleet;
using IotOta.Gateway.Scheduling;
using Microsoft.Extensions.Time.Testing;

namespace IotOta.Gateway.Core.Tests.Scheduling;

public class SequentialWindowTests
{
    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 1)]
    [InlineData(4, 1)]
    [InlineData(8, 2)]
    [InlineData(64, 16)]
    [InlineData(67, 16)]
    public void Window_is_a_quarter_of_the_smallest_staging_at_least_one(int capacity, int window)
    {
        Assert.Equal(window, SequentialWindow.WindowFor(capacity));
    }

    [Fact]
    public void A_group_without_a_window_allows_everything()
    {
        var w = new SequentialWindow(100);
        Assert.True(w.Allows(1, 99));
        w.SetGroup(1, 0);
        Assert.True(w.Allows(1, 99));
    }

    [Fact]
    public void Packets_go_out_only_within_the_window_above_the_lowest_undelivered()
    {
        var w = new SequentialWindow(100);
        w.SetGroup(1, 16); // window 4
        Assert.True(w.Allows(1, 3));
        Assert.False(w.Allows(1, 4));
        w.OnDelivered(1, 1); // out of order: the lowest stays 0
        Assert.Equal(0, w.LowestUndelivered(1));
        Assert.False(w.Allows(1, 4));
        w.OnDelivered(1, 0); // 0 and 1 delivered: the window slides to 2..5
        Assert.Equal(2, w.LowestUndelivered(1));
        Assert.True(w.Allows(1, 5));
        Assert.False(w.Allows(1, 6));
        Assert.True(w.Allows(2, 50)); // another group has no window
    }

    [Fact]
    public void The_lowest_reaches_the_end_when_all_are_delivered()
    {
        var w = new SequentialWindow(3);
        w.SetGroup(1, 2);
        for (int k = 2; k >= 0; k--) w.OnDelivered(1, k);
        Assert.Equal(3, w.LowestUndelivered(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => w.OnDelivered(1, 3));
    }

    private static RolloutScheduler Scheduler(FakeTimeProvider clock, int chunks, Func<uint, int>? staging, bool crossGroup = true) =>
        new(chunks, _ => 2048, new SchedulerOptions { CrossGroup = crossGroup, StagingCapacityOf = staging }, new OverheadTable(clock), clock);

    private static List<FleetMember> Fleet(int groups, int perGroup) =>
        Enumerable.Range(0, groups).SelectMany(g => Enumerable.Range(0, perGroup).Select(i =>
            new FleetMember((uint)(100 * (g + 1) + i), g + 1, 0x0100007F, 5000 + 100 * g + i))).ToList();

    [Fact]
    public void The_scheduler_keeps_a_sequential_groups_packets_within_its_window()
    {
        var clock = new FakeTimeProvider();
        // group 1 stages 16 packets (window 4), group 2 is random-offset
        var s = Scheduler(clock, 40, n => n < 200 ? 16 : 0);
        s.UpdateFleet(Fleet(2, 5));
        var first = s.Plan();
        Assert.Equal(new[] { 0, 1, 2, 3 }, first.Select(o => o.Index).ToArray()); // 5 devices have room for more
        Assert.Equal((4, 0), s.WindowOf(1));
        Assert.Equal(1, s.WindowStops);
        Assert.Empty(s.Plan());

        // packet 1's notices come back in both groups: the lowest is still 0, nothing new goes out
        NoticeBoth(s, first, 1);
        Assert.Empty(s.Plan());
        // packet 0 arrives: the window slides by two
        NoticeBoth(s, first, 0);
        Assert.Equal(new[] { 4, 5 }, s.Plan().Select(o => o.Index).ToArray());
        Assert.Equal((4, 2), s.WindowOf(1));
    }

    [Fact]
    public void Without_sequential_devices_the_scheduler_plans_ahead_as_before()
    {
        var clock = new FakeTimeProvider();
        var s = Scheduler(clock, 40, n => 0);
        s.UpdateFleet(Fleet(2, 5));
        Assert.True(s.Plan().Count > 4);
        Assert.Equal(0, s.WindowStops);
    }

    [Fact]
    public void A_timed_out_packet_at_the_bottom_of_the_window_is_planned_again_first()
    {
        var clock = new FakeTimeProvider();
        var s = Scheduler(clock, 40, n => 8); // window 2 everywhere
        s.UpdateFleet(Fleet(1, 3));
        var first = s.Plan();
        Assert.Equal(new[] { 0, 1 }, first.Select(o => o.Index).ToArray());
        s.OnNotice(first[1].Root.NodeId, 1);
        clock.Advance(TimeSpan.FromSeconds(30)); // packet 0's notice never came
        var again = s.Plan();
        Assert.Equal(0, again[0].Index);
        Assert.Single(again); // 0 re-planned; 2 waits until 0 is delivered
    }

    private static void NoticeBoth(RolloutScheduler s, IReadOnlyList<SendOrder> orders, int index)
    {
        var o = orders.Single(x => x.Index == index);
        s.OnNotice(o.Root.NodeId, index);
        foreach (var r in o.Relays) s.OnNotice(r.NodeId, index);
    }
}
