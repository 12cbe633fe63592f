using IotOta.Bench;

namespace IotOta.Bench.Tests;

public class BenchTests
{
    [Fact]
    public void Options_parse_and_default_groups()
    {
        var o = BenchOptions.Parse(["--devices", "100", "--scenario", "lossy", "--strategies", "iotota,gossip", "--json"]);
        Assert.Equal(100, o.Devices);
        Assert.Equal(9, o.EffectiveGroups);
        Assert.Equal(0.02, o.Loss);
        Assert.Equal(["iotota", "gossip"], o.Strategies);
        Assert.True(o.Json);
        Assert.Throws<ArgumentException>(() => BenchOptions.Parse(["--strategies", "carrier-pigeon"]));
        Assert.Throws<ArgumentException>(() => BenchOptions.Parse(["--scenario", "nope"]));
    }

    [Theory]
    [InlineData("homogeneous")]
    [InlineData("heterogeneous")]
    public void Simulated_rollout_completes_no_faster_than_the_bound(string scenario)
    {
        var o = new BenchOptions { Devices = 60, Groups = 3, Scenario = scenario, Simulate = true, ImageSize = 64 * 1024 };
        RunResult r = new Simulator(o).Run(120, scenario);
        Assert.Equal(60, r.Completed);
        Assert.False(r.TimedOut);
        Assert.True(r.Seconds >= r.BoundSeconds * 0.999, $"{r.Seconds} s beat the bound {r.BoundSeconds} s");
        Assert.True(r.MedianSeconds <= r.P99Seconds && r.P99Seconds <= r.Seconds);
        Assert.Equal(r.ImageBytes, r.GatewayBytes); // 3 groups: one original per packet reaches all of them
        Assert.Equal(60, r.CompletionTimes.Length);
    }

    [Fact]
    public void Json_has_a_runs_array_with_the_required_fields()
    {
        var o = new BenchOptions { Devices = 20, Groups = 2, Simulate = true, ImageSize = 32 * 1024 };
        var r = new Simulator(o).Run(60, o.Scenario);
        var json = System.Text.Json.JsonDocument.Parse(Report.JsonText(o, [r]));
        var run = json.RootElement.GetProperty("runs")[0];
        foreach (var f in new[] { "strategy", "devices", "seconds", "boundSeconds", "gatewayBytes", "brokerBytes", "imageBytes", "completed" })
            Assert.True(run.TryGetProperty(f, out _), f);
        Assert.Equal("iotota", run.GetProperty("strategy").GetString());
        Assert.Equal(20, run.GetProperty("completed").GetInt32());
        Assert.Contains("| iotota | simulated | 20/20 |", Report.Markdown(o, [r]));
    }

    [Fact]
    public void Chart_is_written()
    {
        var o = new BenchOptions { Devices = 10, Groups = 2, Simulate = true, ImageSize = 16 * 1024 };
        var r = new Simulator(o).Run(60, o.Scenario);
        string path = Path.Combine(Path.GetTempPath(), $"bench-chart-{Guid.NewGuid():N}.png");
        Report.Png(path, o, [r]);
        Assert.True(new FileInfo(path).Length > 1000);
        File.Delete(path);
    }
}
