using IotOta.Gateway.Scheduling;

namespace IotOta.Gateway.Core.Tests.Scheduling;

public class KumarRossBoundTests
{
    [Fact]
    public void ServerUploadTermDominates()
    {
        // F/u_s = 100 s; F/d_min = 1 s; N·F/(u_s+Σu) = 2000/2010 s.
        double t = KumarRossBound.Seconds(1000, 10, [1000, 1000], [1000, 1000]);
        Assert.Equal(100.0, t, 9);
    }

    [Fact]
    public void SlowestDownloadTermDominates()
    {
        // F/u_s = 0.001 s; F/d_min = 100 s; N·F/(u_s+Σu) ≈ 0.002 s.
        double t = KumarRossBound.Seconds(1000, 1_000_000, [1_000_000, 1_000_000], [10, 1_000_000]);
        Assert.Equal(100.0, t, 9);
    }

    [Fact]
    public void AggregateUploadTermDominates()
    {
        // 10 peers that upload nothing: every byte comes from the server, N·F/u_s = 10 s, F/u_s = 1 s.
        var ups = Enumerable.Repeat(0.0, 10).ToArray();
        var downs = Enumerable.Repeat(1e9, 10).ToArray();
        Assert.Equal(10.0, KumarRossBound.Seconds(1000, 1000, ups, downs), 9);
        // Peers with upload share the load.
        var ups2 = Enumerable.Repeat(250.0, 10).ToArray(); // Σu = 2500 → 10 000 / 3500
        Assert.Equal(10_000.0 / 3500.0, KumarRossBound.Seconds(1000, 1000, ups2, downs), 9);
    }

    [Fact]
    public void NoPeersIsServerTime()
    {
        Assert.Equal(4.0, KumarRossBound.Seconds(1000, 250, Array.Empty<double>(), Array.Empty<double>()), 9);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void FileSizeMustBePositive(double f)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => KumarRossBound.Seconds(f, 1, [1], [1]));
        Assert.Equal("fileBytes", e.ParamName);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    public void ServerUploadMustBePositive(double us)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => KumarRossBound.Seconds(100, us, [1], [1]));
        Assert.Equal("serverUpload", e.ParamName);
    }

    [Fact]
    public void OneDownloadPerPeerIsNeeded()
    {
        Assert.Throws<ArgumentException>(() => KumarRossBound.Seconds(100, 1, [1, 2], [1]));
    }

    [Fact]
    public void DownloadsMustBePositive()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => KumarRossBound.Seconds(100, 1, [1, 2], [1, 0]));
        Assert.Equal("peerDownloads", e.ParamName);
    }
}
