using IotOta.Gateway.Fleet;
using IotOta.Gateway.Scheduling;
using IotOta.Shared.Protocol;
using Microsoft.Extensions.Time.Testing;

namespace IotOta.Gateway.Core.Tests.Scheduling;

/// <summary>A relay whose notice does not follow its root's is planned again after RelayNoticeGrace, not after the
/// original's MinNoticeTimeout (a lost relay copy cost lossy fleets 5 s per packet).</summary>
public class RolloutSchedulerRelayDeadlineTests
{
    private static (RolloutScheduler S, SendOrder First) Planned(FakeTimeProvider clock, bool measured = true)
    {
        var overheads = new OverheadTable(clock);
        if (measured)
        {
            // Every device forwarded something before (its rate is measured): 1,000 B in 10 ms.
            for (uint node = 1; node <= 5; node++)
            {
                overheads.RegisterSend(node, 0);
                overheads.RegisterNotice(new ReceiptNotice { NodeId = node, ImageId = 1, Index = 0, Kind = ReceiptNotice.KindOriginal, ReceiveTimeMs = 0, ForwardedTimeMs = 10, CopiesSent = 1 }, 1000);
            }
        }
        var s = new RolloutScheduler(1, _ => 1000, new SchedulerOptions(), overheads, clock);
        s.UpdateFleet([new FleetMember(1, 1, 0, 1), new FleetMember(2, 1, 0, 2), new FleetMember(3, 2, 0, 3), new FleetMember(4, 2, 0, 4), new FleetMember(5, 3, 0, 5)]);
        SendOrder first = Assert.Single(s.Plan());
        Assert.Equal(2, first.Relays.Count);
        return (s, first);
    }

    [Fact]
    public void A_relay_silent_after_its_roots_notice_is_planned_again_within_the_grace()
    {
        var clock = new FakeTimeProvider();
        var (s, first) = Planned(clock);
        clock.Advance(TimeSpan.FromMilliseconds(300));
        s.OnNotice(first.Root.NodeId, 0);
        s.OnNotice(first.Relays[0].NodeId, 0); // one relay noticed, the other lost its copy
        clock.Advance(TimeSpan.FromMilliseconds(900));
        Assert.Empty(s.Plan()); // within the grace: still its own
        clock.Advance(TimeSpan.FromMilliseconds(200));
        SendOrder again = Assert.Single(s.Plan());
        Assert.Equal(0, again.Index);
        Assert.Empty(again.Relays); // only the silent relay's group needs it
        Assert.Equal(VirtualGroupOf(first.Relays[1].NodeId), VirtualGroupOf(again.Root.NodeId));
    }

    [Fact]
    public void An_unmeasured_relay_keeps_the_original_deadline()
    {
        var clock = new FakeTimeProvider();
        var (s, first) = Planned(clock, measured: false);
        clock.Advance(TimeSpan.FromMilliseconds(300));
        s.OnNotice(first.Root.NodeId, 0);
        s.OnNotice(first.Relays[0].NodeId, 0);
        clock.Advance(TimeSpan.FromSeconds(3)); // its expected finish at the prior rate means nothing yet
        Assert.Empty(s.Plan());
        clock.Advance(new SchedulerOptions().MinNoticeTimeout);
        Assert.Single(s.Plan());
    }

    [Fact]
    public void Without_the_roots_notice_the_original_deadline_holds()
    {
        var clock = new FakeTimeProvider();
        var (s, _) = Planned(clock);
        clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Empty(s.Plan());
        clock.Advance(new SchedulerOptions().MinNoticeTimeout);
        Assert.NotEmpty(s.Plan()); // the whole packet went back: root and relays
    }

    [Fact]
    public void When_notices_come_late_a_silent_relay_is_waited_for_beyond_the_grace()
    {
        // A loaded host: the root's notice comes 2.5 s after planning, far past its expected finish (~30 ms). The
        // relay's tightened deadline follows the notice timer (lateness + 4 deviations), not the bare 1 s grace.
        var clock = new FakeTimeProvider();
        var (s, first) = Planned(clock);
        clock.Advance(TimeSpan.FromMilliseconds(2500));
        s.OnNotice(first.Root.NodeId, 0);
        Assert.True(s.NoticeTimer.MeanLatenessSeconds > 2);
        s.OnNotice(first.Relays[0].NodeId, 0);
        clock.Advance(TimeSpan.FromMilliseconds(1200)); // past the grace: the old rule planned it again here
        Assert.Empty(s.Plan());
        Assert.Equal(0, s.Reallocations);
        clock.Advance(new SchedulerOptions().MinNoticeTimeout); // the original's deadline still bounds the wait
        Assert.Single(s.Plan());
        Assert.Equal(1, s.ReplansBy.RelayTimedOut);
    }

    [Fact]
    public void A_deadline_set_before_the_timer_knew_anything_is_judged_by_what_it_knows_when_it_comes_up()
    {
        // Two packets planned at once on an idle timer (deadline: the 5 s floor). The first packet's notices come
        // 4 s late; the second packet is as late, not lost: at 5.5 s it is not planned again.
        var clock = new FakeTimeProvider();
        var overheads = new OverheadTable(clock);
        var s = new RolloutScheduler(2, _ => 1000, new SchedulerOptions(), overheads, clock);
        s.UpdateFleet([new FleetMember(1, 1, 0, 1), new FleetMember(2, 1, 0, 2)]);
        var orders = s.Plan();
        Assert.Equal(2, orders.Count);
        clock.Advance(TimeSpan.FromSeconds(4));
        s.OnNotice(orders[0].Root.NodeId, 0);
        clock.Advance(TimeSpan.FromSeconds(1.5));
        Assert.Empty(s.Plan());
        Assert.Equal(0, s.Reallocations);
        clock.Advance(TimeSpan.FromSeconds(20)); // long past lateness + 4 deviations: lost after all
        Assert.Single(s.Plan());
        Assert.Equal(1, s.ReplansBy.TimedOut);
    }

    private static int VirtualGroupOf(uint node) => node switch { 1 or 2 => 1, 3 or 4 => 2, _ => 3 };
}
