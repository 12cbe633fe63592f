using IotOta.Gateway.Fleet;
using IotOta.Gateway.Scheduling;
using IotOta.Shared.Protocol;
using Microsoft.Extensions.Time.Testing;

namespace IotOta.Gateway.Core.Tests.Scheduling;

/// <summary>RolloutScheduler books each device's jobs one behind the other (DeviceLoad.BusyUntil), so a device that has
/// worked through most of its backlog since its last notice gets more work before that notice comes back.</summary>
public class RolloutSchedulerBookingTests
{
    private const int Chunk = 1000;

    private static DeviceLoad LoadOf(RolloutScheduler s, uint node) => s.Loads().Single(l => l.NodeId == node);

    private static double SecondsAhead(FakeTimeProvider clock, long timestamp) => (timestamp - clock.GetTimestamp()) / (double)clock.TimestampFrequency;

    [Fact]
    public void A_measured_device_takes_work_by_what_is_left_of_its_booked_backlog()
    {
        // One group of two, per-group originals: a job is one copy, 1000 B = 0.1 s at 10 000 B/s; horizon 0.25 s.
        var clock = new FakeTimeProvider();
        var table = new OverheadTable(clock);
        var options = new SchedulerOptions { CrossGroup = false, PriorForwardRate = 10_000, BacklogHorizon = TimeSpan.FromMilliseconds(250) };
        var s = new RolloutScheduler(20, _ => Chunk, options, table, clock);
        s.UpdateFleet([new FleetMember(1, 1, 0, 1), new FleetMember(2, 1, 0, 2)]);
        var orders = s.Plan();
        foreach (var o in orders) table.RegisterSend(o.Root.NodeId, o.Index);
        Assert.Equal(6, orders.Count);                   // three each: 0.3 s, the third taken at 0.2 s < 0.25 s
        Assert.Equal(0.3, SecondsAhead(clock, LoadOf(s, 1).BusyUntil), 6);
        Assert.Equal(Chunk, LoadOf(s, 1).LargestJobBytes);

        // At 0.1 s device 1's first notice measures its rate; it has two jobs left (0.2 s) and takes a fourth,
        // booked behind them.
        clock.Advance(TimeSpan.FromMilliseconds(100));
        int first = orders.First(o => o.Root.NodeId == 1).Index;
        table.RegisterNotice(new ReceiptNotice { NodeId = 1, Index = first, ReceiveTimeMs = 0, ForwardedTimeMs = 100, CopiesSent = 1 }, Chunk);
        s.OnNotice(1, first);
        var more = s.Plan();
        Assert.Equal(1u, more.Single().Root.NodeId);
        Assert.Equal(0.3, SecondsAhead(clock, LoadOf(s, 1).BusyUntil), 6);

        // At 0.2 s its next notice is late: by in-flight bytes it holds 0.3 s (over the horizon), by its booking
        // 0.2 s, so it takes another packet. Device 2 holds as much but has no measured rate: no credit, no room.
        clock.Advance(TimeSpan.FromMilliseconds(100));
        var late = s.Plan();
        Assert.Equal(1u, late.Single().Root.NodeId);
        Assert.Equal(0.3, SecondsAhead(clock, LoadOf(s, 1).BusyUntil), 6);
        Assert.Equal(4, LoadOf(s, 1).InFlight);

        // Once every notice is in, nothing is booked: the next job is booked from its assignment.
        foreach (var o in orders.Concat(more).Concat(late).Where(o => o.Root.NodeId == 1 && o.Index != first)) s.OnNotice(1, o.Index);
        Assert.Equal(0, LoadOf(s, 1).BusyUntil);
    }
}
