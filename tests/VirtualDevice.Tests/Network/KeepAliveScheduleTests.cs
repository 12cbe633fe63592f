using IotOta.VirtualDevice.Network;

namespace IotOta.VirtualDevice.Tests.Network;

public sealed class KeepAliveScheduleTests
{
    [Fact]
    public void A_ping_is_due_one_period_after_the_last_packet_sent()
    {
        var s = new KeepAliveSchedule(TimeSpan.FromSeconds(15), nowMs: 1_000);
        Assert.Equal(TimeSpan.FromSeconds(15), s.UntilPing(1_000));
        Assert.Equal(TimeSpan.FromSeconds(5), s.UntilPing(11_000));
        s.Sent(11_000);
        Assert.Equal(TimeSpan.FromSeconds(15), s.UntilPing(11_000));
        Assert.True(s.UntilPing(26_000) <= TimeSpan.Zero);
        Assert.Equal(TimeSpan.FromSeconds(-1), s.UntilPing(27_000));
    }

    [Fact]
    public void An_older_send_reported_late_does_not_move_the_schedule_back()
    {
        var s = new KeepAliveSchedule(TimeSpan.FromSeconds(10), nowMs: 0);
        s.Sent(8_000);
        s.Sent(3_000); // another thread's publish that started earlier and finished later
        Assert.Equal(TimeSpan.FromSeconds(10), s.UntilPing(8_000));
    }

    [Fact]
    public void The_broker_may_set_another_period()
    {
        var s = new KeepAliveSchedule(TimeSpan.FromSeconds(15), nowMs: 0);
        s.Period = TimeSpan.FromSeconds(5);
        Assert.Equal(TimeSpan.FromSeconds(5), s.UntilPing(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => s.Period = TimeSpan.FromMilliseconds(500));
        Assert.Throws<ArgumentOutOfRangeException>(() => s.Period = TimeSpan.FromSeconds(65_536));
        Assert.Equal(TimeSpan.FromSeconds(5), s.Period);
    }
}
