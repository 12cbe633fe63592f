using System.Diagnostics;
using IotOta.Bench;

namespace IotOta.Bench.Tests;

/// <summary>The emulated broker uplink: the rate holds for all flows together, and a small send to an idle
/// connection passes ahead of a busy connection's backlog (as fq_codel's new-flow list lets it on a real router).</summary>
public class FairUplinkTests
{
    [Fact]
    public async Task All_flows_together_never_pass_faster_than_the_rate()
    {
        using var link = new FairUplink(200_000); // 200 kB/s
        var a = link.NewFlow();
        var b = link.NewFlow();
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(link.SendAsync(a, 30_000), link.SendAsync(b, 30_000));
        // 60,000 B at 200,000 B/s: 0.3 s at least (no idle credit, no burst)
        Assert.True(clock.Elapsed.TotalSeconds >= 0.29, $"{clock.Elapsed.TotalSeconds:0.000} s");
    }

    [Fact]
    public async Task A_small_send_on_an_idle_flow_waits_behind_a_frame_not_behind_the_backlog()
    {
        using var link = new FairUplink(100_000); // 100 kB/s: the bulk flow's 200 kB take 2 s
        var bulk = link.NewFlow();
        var ping = link.NewFlow();
        Task big = link.SendAsync(bulk, 200_000);
        await Task.Delay(200);
        var clock = Stopwatch.StartNew();
        await link.SendAsync(ping, 2);
        double small = clock.Elapsed.TotalSeconds;
        Assert.False(big.IsCompleted);
        Assert.True(small < 0.5, $"the 2-byte send took {small:0.000} s behind the backlog");
        await big;
    }
}
