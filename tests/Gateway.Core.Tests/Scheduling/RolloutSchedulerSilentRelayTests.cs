using IotOta.Gateway.Fleet;
using IotOta.Gateway.Scheduling;
using IotOta.Shared.Protocol;
using Microsoft.Extensions.Time.Testing;

namespace IotOta.Gateway.Core.Tests.Scheduling;

/// <summary>A relay an original names sends no notice (issue #15): once its root noticed, its delivery is done when its
/// own forwarding should be over, one job after another on its device from when its packet left the gateway; its load
/// stays booked until then.</summary>
public class RolloutSchedulerSilentRelayTests
{
    private const double Rate = 100_000; // bytes per second, measured for every device below

    /// <summary>Groups {1, 2}, {3, 4}, {5}; 1,000-byte packets; every device measured at 100,000 B/s except those in
    /// <paramref name="slow"/> (1,000 B/s, so the selector passes them over).</summary>
    /// <summary>Five devices in three groups: 1 and 2, 3 and 4, 5.</summary>
    private static readonly FleetMember[] Fleet = [new FleetMember(1, 1, 0, 1), new FleetMember(2, 1, 0, 2), new FleetMember(3, 2, 0, 3), new FleetMember(4, 2, 0, 4), new FleetMember(5, 3, 0, 5)];

    private static RolloutScheduler Scheduler(FakeTimeProvider clock, int packets, bool measured = true, params uint[] slow)
    {
        var overheads = new OverheadTable(clock);
        if (measured)
        {
            for (uint node = 1; node <= 5; node++)
            {
                overheads.RegisterSend(node, 0);
                long busy = slow.Contains(node) ? 1000 : 10;
                overheads.RegisterNotice(new ReceiptNotice { NodeId = node, ImageId = 1, Index = 0, Kind = ReceiptNotice.KindOriginal, ReceiveTimeMs = 0, ForwardedTimeMs = busy, CopiesSent = 1 }, 1000);
            }
        }
        var s = new RolloutScheduler(packets, _ => 1000, new SchedulerOptions(), overheads, clock);
        s.UpdateFleet(Fleet);
        return s;
    }

    private static TimeSpan JobTime(double bytes) => TimeSpan.FromSeconds(bytes / Rate);

    [Fact]
    public void A_relay_is_done_without_its_notice_once_its_forwarding_is_reckoned_over()
    {
        var clock = new FakeTimeProvider();
        var s = Scheduler(clock, packets: 1);
        SendOrder first = Assert.Single(s.Plan());
        Assert.Equal(2, first.Relays.Count);
        FleetMember pair = first.Relays.Single(r => r.GroupId == 2); // one copy to its group mate: 1,000 B, 10 ms
        // The relay copy left the root first: the relay had it about when the original left the gateway, and is
        // reckoned from then. Here the root notices 2 ms after planning.
        clock.Advance(TimeSpan.FromMilliseconds(2));
        Assert.Empty(s.Plan());
        Assert.Equal(0, s.Progress.Done);
        Assert.False(s.OnlySettlingLeft());
        s.OnNotice(first.Root.NodeId, 0);
        Assert.Equal(1, s.Progress.Done); // the root's group
        Assert.True(s.OnlySettlingLeft()); // the relays have their copies: the packet reached every group
        clock.Advance(JobTime(1000) - TimeSpan.FromMilliseconds(3));
        Assert.Empty(s.Plan());
        Assert.Equal(1, s.Loads().Single(l => l.NodeId == pair.NodeId).InFlight); // still booked while it forwards
        Assert.False(s.AllDelivered);
        clock.Advance(TimeSpan.FromMilliseconds(2));
        Assert.Empty(s.Plan());
        Assert.True(s.AllDelivered);
        Assert.Equal(2, s.SilentSettled);
        Assert.Equal(0, s.Reallocations);
        Assert.Equal(0, s.Loads().Single(l => l.NodeId == pair.NodeId).InFlight);
    }

    [Fact]
    public void A_devices_silent_jobs_are_done_one_after_another()
    {
        // Device 4 is slow, so device 3 relays every packet into group 2: two jobs of 10 ms each.
        var clock = new FakeTimeProvider();
        var s = Scheduler(clock, packets: 2, slow: 4);
        var orders = s.Plan();
        Assert.Equal(2, orders.Count);
        Assert.All(orders, o => Assert.Contains(o.Relays, r => r.NodeId == 3));
        clock.Advance(TimeSpan.FromMilliseconds(2));
        foreach (SendOrder o in orders) s.OnNotice(o.Root.NodeId, o.Index);
        clock.Advance(JobTime(1000) - TimeSpan.FromMilliseconds(1));
        Assert.Empty(s.Plan());
        Assert.Equal(1, s.Loads().Single(l => l.NodeId == 3).InFlight); // the first is done, the second waits behind it
        Assert.False(s.AllDelivered);
        clock.Advance(JobTime(1000));
        Assert.Empty(s.Plan());
        Assert.True(s.AllDelivered);
        Assert.Equal(4, s.SilentSettled);
    }

    [Fact]
    public void A_relays_own_notice_ends_its_delivery_at_once()
    {
        // An answer to a repair request, or a device that predates silent relays, still notices.
        var clock = new FakeTimeProvider();
        var s = Scheduler(clock, packets: 1);
        SendOrder first = Assert.Single(s.Plan());
        clock.Advance(TimeSpan.FromMilliseconds(300));
        s.OnNotice(first.Root.NodeId, 0);
        foreach (FleetMember r in first.Relays) s.OnNotice(r.NodeId, 0);
        Assert.True(s.AllDelivered);
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Empty(s.Plan());
        Assert.Equal(0, s.SilentSettled);
        Assert.Equal(0, s.Reallocations);
    }

    [Fact]
    public void A_relay_that_left_before_it_settled_is_an_orphan_not_done()
    {
        var clock = new FakeTimeProvider();
        var s = Scheduler(clock, packets: 1);
        SendOrder first = Assert.Single(s.Plan());
        FleetMember pair = first.Relays.Single(r => r.GroupId == 2);
        clock.Advance(TimeSpan.FromMilliseconds(300));
        s.OnNotice(first.Root.NodeId, 0);
        s.UpdateFleet(Fleet.Where(m => m.NodeId != pair.NodeId));
        clock.Advance(TimeSpan.FromMilliseconds(50));
        s.Plan();
        Assert.False(s.IsDeliveredTo(pair.NodeId == 3 ? 4u : 3u, 0)); // its group mate did not get it through the relay
        Assert.Equal(1, s.OrphanCount);
    }

    [Fact]
    public void A_relays_departing_root_does_not_orphan_it_once_its_roots_notice_came()
    {
        // The relay had its copy when the root noticed; the root leaving after that takes nothing from it.
        var clock = new FakeTimeProvider();
        var s = Scheduler(clock, packets: 1);
        SendOrder first = Assert.Single(s.Plan());
        clock.Advance(TimeSpan.FromMilliseconds(300));
        s.OnNotice(first.Root.NodeId, 0);
        s.UpdateFleet(Fleet.Where(m => m.NodeId != first.Root.NodeId));
        Assert.Equal(0, s.OrphanCount);
        clock.Advance(JobTime(1000) + TimeSpan.FromMilliseconds(1));
        Assert.Empty(s.Plan());
        Assert.True(s.AllDelivered);
    }

    [Fact]
    public void Orders_across_groups_ask_for_silent_relays()
    {
        var clock = new FakeTimeProvider();
        var s = Scheduler(clock, packets: 3);
        Assert.All(s.Plan(), o => Assert.True(o.SilentRelays));
    }

    [Fact]
    public void An_unmeasured_relay_waits_for_its_first_notice_not_for_the_prior_rate()
    {
        // The prior rate (250,000 B/s) would have the pair's relay done 4 ms after planning; nothing measured it yet.
        var clock = new FakeTimeProvider();
        var s = Scheduler(clock, packets: 1, measured: false);
        SendOrder first = Assert.Single(s.Plan());
        Assert.True(first.SilentRelays); // its first minimum unit notices anyway (Forwarder.QueueMinimumUnit)
        FleetMember pair = first.Relays.Single(r => r.GroupId == 2);
        clock.Advance(TimeSpan.FromMilliseconds(2));
        s.OnNotice(first.Root.NodeId, 0);
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Empty(s.Plan());
        Assert.Equal(1, s.Loads().Single(l => l.NodeId == pair.NodeId).InFlight);
        Assert.False(s.AllDelivered);
        foreach (FleetMember r in first.Relays) s.OnNotice(r.NodeId, 0); // their first minimum units notice
        Assert.True(s.AllDelivered);
        Assert.Equal(0, s.Reallocations);
    }

    [Fact]
    public void An_unmeasured_relay_that_never_notices_times_out_at_its_notice_deadline()
    {
        var clock = new FakeTimeProvider();
        var s = Scheduler(clock, packets: 1, measured: false);
        SendOrder first = Assert.Single(s.Plan());
        clock.Advance(TimeSpan.FromMilliseconds(2));
        s.OnNotice(first.Root.NodeId, 0);
        clock.Advance(new SchedulerOptions().MinNoticeTimeout + TimeSpan.FromSeconds(1));
        SendOrder again = Assert.Single(s.Plan());
        Assert.Contains(2, again.Relays.Select(r => r.GroupId).Append(again.Root.GroupId)); // the pair's group gets it again
        Assert.True(s.ReplansBy.RelayTimedOut >= 1);
    }

    [Fact]
    public void Relays_measured_far_slower_than_the_fleet_are_not_asked_for_silence()
    {
        // Group 2's devices measured 100 × slower than the median: an original naming one of them asks for nothing
        // (the copy-tree copies they forward are booked at the median rate; their silent jobs would settle too early).
        var s = Scheduler(new FakeTimeProvider(), packets: 8, slow: [3, 4]);
        var orders = s.Plan();
        Assert.Contains(orders, o => !o.SilentRelays);
        Assert.All(orders, o => Assert.Equal(!o.Relays.Any(r => r.GroupId == 2), o.SilentRelays));
    }

    [Fact]
    public void A_root_whose_notice_is_late_goes_again_alone_and_its_late_notice_still_settles_its_relays()
    {
        var clock = new FakeTimeProvider();
        var s = Scheduler(clock, packets: 1);
        SendOrder first = Assert.Single(s.Plan());
        clock.Advance(new SchedulerOptions().MinNoticeTimeout + TimeSpan.FromSeconds(1));
        SendOrder again = Assert.Single(s.Plan());
        Assert.Equal(first.Root.GroupId, again.Root.GroupId);
        Assert.Empty(again.Relays); // the relays' groups are not sent the packet again
        Assert.Equal(1, s.Reallocations);
        s.OnNotice(first.Root.NodeId, 0); // the first root's notice, late: its relays have their copies
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Empty(s.Plan());
        Assert.True(s.AllDelivered); // its group has the packet (a member noticed), and so have its relays' groups
        Assert.Equal(2, s.SilentSettled);
        Assert.Equal(1, s.Reallocations);
    }

    [Fact]
    public void Without_the_roots_notice_the_original_deadline_holds()
    {
        var clock = new FakeTimeProvider();
        var s = Scheduler(clock, packets: 1);
        Assert.Single(s.Plan());
        clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Empty(s.Plan());
        Assert.Equal(0, s.SilentSettled);
        clock.Advance(new SchedulerOptions().MinNoticeTimeout);
        Assert.NotEmpty(s.Plan()); // the whole packet went back: root and relays
        Assert.Equal(0, s.SilentSettled);
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
}
