using IotOta.VirtualDevice.Host;

namespace IotOta.VirtualDevice.Tests.Host;

/// <summary>The shared tick threads put every device on one grid of due times (one wake-up per period per thread).</summary>
public sealed class TickSchedulerTests
{
    [Theory]
    [InlineData(0, 50, 50)]
    [InlineData(1, 50, 50)]
    [InlineData(49, 50, 50)]
    [InlineData(50, 50, 100)]     // exactly on a grid point: the next one, never now (no tick twice at one instant)
    [InlineData(1_000_007, 50, 1_000_050)]
    [InlineData(1_000_049, 50, 1_000_050)]
    public void The_next_tick_is_due_at_the_next_multiple_of_the_period(long now, long period, long due) =>
        Assert.Equal(due, TickScheduler.NextDue(now, period));

    [Fact]
    public void Devices_whose_ticks_ran_at_different_times_share_their_next_due_time()
    {
        // Two devices added 17 ms apart, each ticked once: both are due at the same grid point, within one period.
        long a = TickScheduler.NextDue(10_003, 50), b = TickScheduler.NextDue(10_020, 50);
        Assert.Equal(a, b);
        Assert.InRange(a - 10_020, 1, 50);
        // A tick that ran late (three periods) is not followed by a burst of catch-up ticks.
        Assert.Equal(10_200, TickScheduler.NextDue(10_170, 50));
    }
}
