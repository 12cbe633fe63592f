using IotOta.Gateway.Scheduling;

namespace IotOta.Gateway.Core.Tests.Scheduling;

public sealed class LinkRateTests
{
    [Theory]
    [InlineData(8, 1000)]
    [InlineData(4000, 500_000)]
    [InlineData(0.8, 100)]
    public void Kilobits_per_second_become_bytes_per_second(double kbps, double bytesPerSecond)
    {
        Assert.True(LinkRate.IsLimited(kbps));
        Assert.Equal(bytesPerSecond, LinkRate.BytesPerSecond(kbps), 9);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NaN)]
    public void Zero_negative_or_not_finite_means_unlimited(double kbps)
    {
        Assert.False(LinkRate.IsLimited(kbps));
        Assert.Equal(double.PositiveInfinity, LinkRate.BytesPerSecond(kbps));
    }
}
