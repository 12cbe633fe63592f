using IotOta.Gateway.Fleet;
using IotOta.Gateway.Scheduling;
using IotOta.Shared.Protocol;
using Microsoft.Extensions.Time.Testing;

namespace IotOta.Gateway.Core.Tests.Scheduling;

public class IntermediateSelectorTests
{
    private readonly FakeTimeProvider _clock = new();
    private readonly OverheadTable _table;
    // Pinned (not the defaults) so the arithmetic below stays valid when defaults are tuned.
    private readonly SchedulerOptions _options = new() { MaxInFlightPerDevice = 3, BacklogHorizon = TimeSpan.FromMilliseconds(600), SlowDeviceFactor = 2.0 };
    private readonly IntermediateSelector _sel;
    private readonly Dictionary<uint, DeviceLoad> _loads = new();

    public IntermediateSelectorTests()
    {
        _table = new OverheadTable(_clock);
        _sel = new IntermediateSelector(_table, _options);
    }

    private DeviceLoad Load(uint n) => _loads.TryGetValue(n, out var l) ? l : _loads[n] = new DeviceLoad(n);

    /// <summary>Measures node's forwarding rate (bytes/s) and arrival (ms) with one original notice.</summary>
    private void Measure(uint node, double rate, int arrivalMs)
    {
        int busy = (int)Math.Round(1000 * 1000.0 / rate); // one copy of 1000 bytes
        _table.RegisterSend(node, 0);
        _clock.Advance(TimeSpan.FromMilliseconds(arrivalMs + busy));
        _table.RegisterNotice(new ReceiptNotice { NodeId = node, Index = 0, ReceiveTimeMs = 0, ForwardedTimeMs = busy, CopiesSent = 1 }, 1000);
    }

    private static FleetMember M(uint n) => new(n, 1, n, 1);

    [Fact]
    public void UnmeasuredDeviceUsesThePriorRate()
    {
        Assert.Equal(_options.PriorForwardRate, _sel.RateOf(1));
        Assert.Equal(10_000 / _options.PriorForwardRate, _sel.FinishSeconds(Load(1), 10_000), 9);
    }

    [Fact]
    public void FinishIncludesArrivalBacklogAndJob()
    {
        Measure(1, 100_000, arrivalMs: 50);
        Load(1).InFlightBytes = 20_000;
        Assert.Equal(0.05 + 30_000 / 100_000.0, _sel.FinishSeconds(Load(1), 10_000), 6);
    }

    [Fact]
    public void PicksTheEarliestFinishAndBreaksTiesByFewerAssigned()
    {
        Measure(1, 100_000, 0);
        Measure(2, 200_000, 0);
        var pick = _sel.Pick([M(1), M(2)], Load, 10_000, out double f);
        Assert.Equal(2u, pick!.NodeId);
        Assert.Equal(0.05, f, 6);
        Load(4).Assigned = 5;
        Assert.Equal(3u, _sel.Pick([M(4), M(3)], Load, 1000, out _)!.NodeId); // equal prior estimates
    }

    [Fact]
    public void WindowAndHorizonLimitRoom()
    {
        var l = Load(1);
        Assert.True(_sel.HasRoom(l));
        l.InFlight = _options.MaxInFlightPerDevice;
        Assert.False(_sel.HasRoom(l));
        l.InFlight = 1;
        l.InFlightBytes = _options.PriorForwardRate * 0.5;  // 0.5 s < 0.6 s horizon
        Assert.True(_sel.HasRoom(l));
        l.InFlightBytes = _options.PriorForwardRate * 0.7;
        Assert.False(_sel.HasRoom(l));
        l.InFlight = 0;                                      // an idle device always may take work
        Assert.True(_sel.HasRoom(l));
        Assert.Null(_sel.Pick(Array.Empty<FleetMember>(), Load, 1000, out _));
    }

    [Fact]
    public void FarSlowerDeviceIsPassedOverEvenWhenTheFastOneIsFull()
    {
        Measure(1, 250_000, 0);   // fast
        Measure(2, 25_000, 0);    // 10× slower
        Load(1).InFlight = _options.MaxInFlightPerDevice;
        Load(1).InFlightBytes = 10_000; // busy but would still finish soon
        // Slow: 28 000/25 000 = 1.12 s > 2 × (38 000/250 000 = 0.152) + 0.6 = 0.904 s → wait for the fast one.
        Assert.Null(_sel.Pick([M(1), M(2)], Load, 28_000, out _));
        // With more backlog on the fast device, waiting is no longer better: the slow one takes it.
        Load(1).InFlightBytes = 100_000; // fast finish 0.512 s → limit 1.624 s
        Assert.Equal(2u, _sel.Pick([M(1), M(2)], Load, 28_000, out _)!.NodeId);
    }

    /// <summary>A selector that knows the time: it credits a device the backlog it has worked off since it was booked.</summary>
    private IntermediateSelector Clocked() => new(_table, _options, _clock);

    private long In(double seconds) => _clock.GetTimestamp() + (long)(seconds * _clock.TimestampFrequency);

    [Fact]
    public void BacklogIsCreditedWithTheWorkDoneSinceItWasBookedButAtMostTheLargestJob()
    {
        var sel = Clocked();
        var l = Load(1);
        l.InFlight = 2;
        l.InFlightBytes = 50_000;                       // 0.2 s at the prior rate of 250 000 B/s
        l.LargestJobBytes = 30_000;                     // 0.12 s
        l.BusyUntil = In(0.2);
        Assert.Equal(0.2, sel.BacklogSeconds(l), 6);
        _clock.Advance(TimeSpan.FromMilliseconds(50));
        Assert.Equal(0.15, sel.BacklogSeconds(l), 6);   // 50 ms of it done
        _clock.Advance(TimeSpan.FromMilliseconds(100));
        Assert.Equal(0.08, sel.BacklogSeconds(l), 6);   // floor: in flight less the largest job, (50 000 − 30 000)/250 000
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(0.08, sel.BacklogSeconds(l), 6);   // a device that stalls keeps the floor until its notices come
        l.BusyUntil = In(5);
        Assert.Equal(0.2, sel.BacklogSeconds(l), 6);    // never more than its in-flight bytes
        Assert.Equal(0.2, _sel.BacklogSeconds(l), 6);   // without a clock: the in-flight bytes, as before
        // The ranking of devices stays on the full in-flight bytes.
        l.BusyUntil = In(0.01);
        Assert.Equal((50_000 + 10_000) / _options.PriorForwardRate, sel.FinishSeconds(l, 10_000), 6);
    }

    [Fact]
    public void RoomCountsTheCreditOnlyOnceTheDevicesRateIsMeasured()
    {
        var sel = Clocked();
        var l = Load(1);
        l.InFlight = 2;
        l.InFlightBytes = _options.PriorForwardRate * 0.7;  // 0.7 s in flight: over the 0.6 s horizon
        l.LargestJobBytes = _options.PriorForwardRate * 0.4;
        l.BusyUntil = In(0.3);                              // booked: 0.3 s still to go
        // Unmeasured, the booking is at the prior rate, which may be ten times too fast: no extra room from it.
        Assert.False(sel.HasRoom(l));
        Assert.Equal(0.3, sel.BacklogSeconds(l), 6);
        Measure(1, _options.PriorForwardRate, arrivalMs: 0);
        l.BusyUntil = In(0.3);
        Assert.True(sel.HasRoom(l));
        Assert.False(_sel.HasRoom(l));                      // no clock, no credit
        l.BusyUntil = In(0.65);
        Assert.False(sel.HasRoom(l));                       // still over the horizon by its booking
    }

    [Fact]
    public void CopyTreeWorkDecidesOnlyAmongDevicesNearTheBestFinish()
    {
        // 1 finishes at 0.05 s; 2 at 0.45 s (within the 0.6 s horizon); 3, idle but far, at 1.05 s (beyond it).
        Measure(1, 100_000, 0);
        Measure(2, 100_000, 0);
        Measure(3, 100_000, arrivalMs: 1000);
        Load(2).InFlightBytes = 40_000;
        Load(2).InFlight = 1;
        Assert.Equal(1.05, _sel.FinishSeconds(Load(3), 5_000), 6);
        var tree = new Dictionary<uint, double> { [1] = 9, [2] = 5, [3] = 0 };
        var pick = _sel.Pick([M(1), M(2), M(3)], Load, 5_000, double.PositiveInfinity, null, m => tree[m.NodeId], out double f);
        Assert.Equal(2u, pick!.NodeId); // less tree work than 1, near enough; 3 has none but would finish too late
        Assert.Equal(0.45, f, 6); // the finish reported is the chosen device's own
        Assert.Equal(1u, _sel.Pick([M(1), M(2), M(3)], Load, 5_000, double.PositiveInfinity, null, null, out _)!.NodeId);
    }
}
