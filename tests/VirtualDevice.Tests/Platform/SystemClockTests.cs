using IotOta.VirtualDevice.Platform;

namespace IotOta.VirtualDevice.Tests.Platform;

public sealed class SystemClockTests
{
    [Fact]
    public void Clock_is_monotonic_and_advances()
    {
        var c = new SystemClock();
        long a = c.NowMs;
        Thread.Sleep(30);
        long b = c.NowMs;
        Assert.True(b - a >= 25, $"advanced {b - a} ms");
        Assert.True(b - a < 5000);
        Assert.Same(SystemClock.Instance, SystemClock.Instance);
        Assert.True(SystemClock.Instance.NowMs >= 0);
    }
}
