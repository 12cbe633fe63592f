using IotOta.Gateway.Fleet;
using IotOta.Gateway.Scheduling;
using Microsoft.Extensions.Time.Testing;

namespace IotOta.Gateway.Core.Tests.Scheduling;

/// <summary>RolloutScheduler.Queueing: a deadline that passes while notices still come in and deliveries planned
/// before (or with) it are still out waits for them; a delivery nothing is ahead of, or one whose fleet went silent,
/// is planned again.</summary>
public class RolloutSchedulerQueueingTests
{
    private static readonly SchedulerOptions Options = new()
    {
        CrossGroup = false, GroupFanout = 0, PriorForwardRate = 250, MinNoticeTimeout = TimeSpan.FromSeconds(5),
        NoticeRateWindow = TimeSpan.FromSeconds(5), BacklogHorizon = TimeSpan.FromSeconds(600), MaxInFlightPerDevice = 64,
    };

    /// <summary>One packet and 100 groups, planned at once: groups 1..90 of three devices (the one that gets the packet
    /// copies it twice: expected 8 s at the prior rate), groups 91..100 of one (no copies: expected ~0 s). Orders in
    /// planning order.</summary>
    private static (RolloutScheduler S, FakeTimeProvider Clock, List<SendOrder> Orders) HundredAtOnce(SchedulerOptions options)
    {
        var clock = new FakeTimeProvider();
        var s = new RolloutScheduler(1, _ => 1000, options, new OverheadTable(clock), clock);
        var fleet = new List<FleetMember>();
        uint node = 1;
        for (int g = 1; g <= 100; g++)
            for (int i = 0; i < (g <= 90 ? 3 : 1); i++, node++) fleet.Add(new FleetMember(node, g, node, (int)node));
        s.UpdateFleet(fleet);
        var orders = s.Plan().ToList();
        Assert.Equal(100, orders.Count);
        return (s, clock, orders);
    }

    /// <summary>The fleet works the deliveries off in one steady stream, one every 100 ms: the ones expected to take 8 s
    /// first, then the quick ones. A notice's lateness is measured against what its delivery was expected to take, so
    /// the quick ones' deadlines (their expected time plus the stream's lateness) pass while they are still queued, as
    /// at N = 1,000 (roots expected 3.3 s timed out behind relays expected 3.9 s).</summary>
    private static void Stream(RolloutScheduler s, FakeTimeProvider clock, List<SendOrder> orders, int count)
    {
        var slow = orders.Where(o => o.Root.GroupId <= 90).Concat(orders.Where(o => o.Root.GroupId > 90)).Take(count);
        foreach (SendOrder o in slow)
        {
            clock.Advance(TimeSpan.FromMilliseconds(100));
            s.OnNotice(o.Root.NodeId, 0);
            s.Plan();
        }
    }

    [Fact]
    public void Deliveries_queued_behind_a_steady_stream_of_notices_are_waited_for_and_a_lost_one_goes_again()
    {
        var (s, clock, orders) = HundredAtOnce(Options);
        Stream(s, clock, orders, 99);
        Assert.Equal(0, s.Reallocations);
        Assert.True(s.QueueWaits > 0);
        // the last never comes: with nothing ahead of it any more it goes again once the notice timer (which the
        // quick ones' late notices taught) gives up on it
        IReadOnlyList<SendOrder> again = [];
        for (int i = 0; i < 60 && again.Count == 0; i++)
        {
            clock.Advance(TimeSpan.FromMilliseconds(500));
            again = s.Plan();
        }
        Assert.Equal(100, Assert.Single(again).Root.GroupId);
        Assert.Equal(1, s.Reallocations);
    }

    [Fact]
    public void Without_the_rate_window_the_queued_quick_deliveries_go_again()
    {
        var (s, clock, orders) = HundredAtOnce(Options with { NoticeRateWindow = TimeSpan.Zero });
        Stream(s, clock, orders, 99);
        Assert.True(s.Reallocations > 0, "the notice timer alone waited for the whole stream");
        Assert.Equal(0, s.QueueWaits);
    }

    [Fact]
    public void When_the_notices_stop_the_deliveries_still_out_go_again_within_one_window()
    {
        var (s, clock, orders) = HundredAtOnce(Options);
        Stream(s, clock, orders, 92);
        long before = s.Reallocations;
        clock.Advance(TimeSpan.FromSeconds(5.1)); // no notice in the last 5 s: the fleet is silent, not slow
        s.Plan();
        clock.Advance(TimeSpan.FromSeconds(5.1));
        s.Plan();
        Assert.Equal(8, s.Reallocations - before);
    }
}
