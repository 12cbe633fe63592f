using IotOta.Gateway.Scheduling;

namespace IotOta.Gateway.Core.Tests.Scheduling;

/// <summary>Deadlines from measured lateness, as TCP's retransmission timer (issue #14 item 4).</summary>
public class NoticeTimerTests
{
    [Fact]
    public void Before_any_sample_the_old_rule_holds()
    {
        var t = new NoticeTimer();
        Assert.Equal(5, t.TimeoutSeconds(0.5, 5));
        Assert.Equal(8, t.TimeoutSeconds(2, 5)); // 4 × expected
    }

    [Fact]
    public void When_every_notice_comes_late_the_deadlines_grow_with_them()
    {
        var t = new NoticeTimer();
        // a slow host: every delivery expected in 1 s is noticed after 9–11 s
        var rng = new Random(7);
        for (int i = 0; i < 200; i++) t.Observe(1, 9 + 2 * rng.NextDouble());
        Assert.InRange(t.MeanLatenessSeconds, 8.5, 9.5);
        double timeout = t.TimeoutSeconds(1, 5);
        // past the latest notice seen, so none of these would have been planned again; the old rule said 5 s
        Assert.True(timeout > 11, timeout.ToString());
        Assert.True(timeout < 20, timeout.ToString());
    }

    [Fact]
    public void Punctual_notices_keep_the_floor_and_jitter_widens_the_margin()
    {
        var steady = new NoticeTimer();
        var jittery = new NoticeTimer();
        var rng = new Random(3);
        for (int i = 0; i < 100; i++)
        {
            steady.Observe(1, 1.0);
            jittery.Observe(1, 1 + 6 * rng.NextDouble());
        }
        Assert.Equal(5, steady.TimeoutSeconds(1, 5));
        Assert.True(jittery.DeviationSeconds > 1);
        Assert.True(jittery.TimeoutSeconds(1, 5) > steady.TimeoutSeconds(1, 5));
        Assert.Equal(200, steady.Samples + jittery.Samples);
    }
}
