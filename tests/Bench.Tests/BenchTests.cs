using IotOta.Simulation.Fleet;
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
        // The links this test was written for (the bench's defaults before they became ESP32 Wi-Fi rates).
        var o = new BenchOptions { Devices = 60, Groups = 3, Scenario = scenario, Simulate = true, ImageSize = 64 * 1024,
            GatewayUpKbps = 8000, DeviceUpKbps = 2000, DeviceDownKbps = 8000, LatencyMs = 2 };
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
        Assert.Equal(System.Text.Json.JsonValueKind.Number, run.GetProperty("ratio").ValueKind);
        Assert.True(run.TryGetProperty("peerConnectionsMax", out _));
    }

    [Fact]
    public void A_run_in_which_not_every_device_finished_has_no_ratio()
    {
        var o = new BenchOptions { Devices = 20, Groups = 2, Simulate = true, ImageSize = 32 * 1024 };
        var r = new Simulator(o).Run(60, o.Scenario) with { Completed = 19, TimedOut = true };
        Assert.Null(r.Ratio);
        var run = System.Text.Json.JsonDocument.Parse(Report.JsonText(o, [r])).RootElement.GetProperty("runs")[0];
        Assert.Equal(System.Text.Json.JsonValueKind.Null, run.GetProperty("ratio").ValueKind);
        Assert.Contains("| iotota | simulated | 19/20 (timeout) |", Report.Markdown(o, [r]));
        Assert.DoesNotContain("| 0.00 |", Report.Markdown(o, [r]).Split('\n')[4]);
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

    [Fact]
    public void Open_files_needed_grow_with_the_group_size()
    {
        // Unlimited peer connections (0): 10 groups of 30 need ~2 × 300 × 29 for the meshes; 30 groups of 10 far fewer.
        long big = FileLimit.Needed(300, 10, 0), small = FileLimit.Needed(300, 30, 0);
        Assert.True(big > 2 * 300 * 29, big.ToString());
        Assert.True(small < big / 2, $"{small} vs {big}");
        Assert.True(FileLimit.Needed(1000, 9, 0) > 200_000); // why N = 1,000 in 9 full meshes could not run in one process
    }

    [Fact]
    public void Open_files_needed_follow_the_socket_budget_not_the_group_size()
    {
        // With a socket budget of K peer connections per device the shape of the groups no longer matters.
        Assert.Equal(FileLimit.Needed(1000, 9, 6), FileLimit.Needed(1000, 63, 6));
        Assert.True(FileLimit.Needed(1000, 9) < 15_000, FileLimit.Needed(1000, 9).ToString()); // fits one process under 20,000
        Assert.Equal(1, FileLimit.ChooseWorkers(1000, 9, 20_000));
        Assert.True(FileLimit.Needed(1000, 9, 12) > FileLimit.Needed(1000, 9, 6));
    }

    [Fact]
    public void Host_cpu_busy_share_is_a_percentage()
    {
        var a = HostCpu.Read();
        Thread.SpinWait(5_000_000);
        var b = HostCpu.Read();
        Assert.True(b.TotalTicks >= a.TotalTicks);
        double p = b.BusyPercentSince(a);
        Assert.InRange(p, 0, 100);
    }

    [Fact]
    public void Bad_options_are_refused_with_the_reason()
    {
        Assert.Contains("mosquitto or embedded", Assert.Throws<ArgumentException>(() => BenchOptions.Parse(["--broker", "rabbit"])).Message);
        Assert.Contains("positive", Assert.Throws<ArgumentException>(() => BenchOptions.Parse(["--image-size", "0"])).Message);
        Assert.Contains("needs a value", Assert.Throws<ArgumentException>(() => BenchOptions.Parse(["--devices"])).Message);
    }

    /// <summary>A bench stopped with SIGTERM mid-run (as `timeout` does) takes its Mosquitto with it.</summary>
    [Fact]
    public async Task A_bench_stopped_by_sigterm_leaves_no_broker_running()
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "IotOta.Bench.dll");
        string results = Path.Combine(Path.GetTempPath(), "bench-test-" + Guid.NewGuid().ToString("N")[..8]);
        var psi = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in new[] { dll, "--devices", "4", "--groups", "2", "--strategies", "unicast", "--image-size", "65536",
                     "--gateway-up-kbps", "50", "--timeout-seconds", "120", "--results", results })
            psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        _ = p.StandardOutput.ReadToEndAsync();
        _ = p.StandardError.ReadToEndAsync();
        try
        {
            // Wait for the broker child to appear (and the rollout to be under way: unicast at 50 kbit/s takes ~40 s).
            int broker = 0;
            var until = DateTime.UtcNow.AddSeconds(60);
            while (broker == 0 && DateTime.UtcNow < until && !p.HasExited)
            {
                broker = ChildNamed(p.Id, "mosquitto");
                if (broker == 0) await Task.Delay(200);
            }
            Assert.True(broker != 0, "the bench started no mosquitto");
            await Task.Delay(3000);
            Assert.Equal(0, Kill(p.Id, 15)); // SIGTERM
            await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            var gone = DateTime.UtcNow.AddSeconds(10);
            while (Directory.Exists($"/proc/{broker}") && DateTime.UtcNow < gone) await Task.Delay(100);
            Assert.False(Directory.Exists($"/proc/{broker}") && !File.ReadAllText($"/proc/{broker}/stat").Contains(") Z "),
                $"mosquitto {broker} still runs after the bench got SIGTERM");
        }
        finally
        {
            if (!p.HasExited) p.Kill(true);
            try { Directory.Delete(results, true); } catch (IOException) { }
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    private static int ChildNamed(int parent, string name)
    {
        foreach (string dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            try
            {
                string stat = File.ReadAllText(Path.Combine(dir, "stat"));
                int close = stat.LastIndexOf(')');
                string comm = stat[(stat.IndexOf('(') + 1)..close];
                string[] rest = stat[(close + 2)..].Split(' ');
                if (comm == name && int.Parse(rest[1]) == parent) return pid;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { }
        }
        return 0;
    }

    /// <summary>The benchmark command itself, small: 6 devices in 2 groups against a Mosquitto it starts, iotota and
    /// unicast, --json on stdout; the figures must relate as the strategies imply.</summary>
    [Fact]
    public async Task The_bench_command_runs_real_strategies_against_mosquitto_and_prints_json()
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "IotOta.Bench.dll");
        string results = Path.Combine(Path.GetTempPath(), "bench-test-" + Guid.NewGuid().ToString("N")[..8]);
        var psi = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in new[] { dll, "--devices", "6", "--groups", "2", "--strategies", "iotota,unicast", "--image-size", "65536",
                     "--timeout-seconds", "60", "--json", "--results", results })
            psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        string stdout = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(4));
        string err = await stderr;
        Assert.True(p.ExitCode == 0, $"exit {p.ExitCode}\n{err}");

        var json = System.Text.Json.JsonDocument.Parse(stdout).RootElement;
        var runs = json.GetProperty("runs");
        Assert.Equal(2, runs.GetArrayLength());
        foreach (var run in runs.EnumerateArray())
        {
            foreach (var f in new[] { "strategy", "devices", "seconds", "boundSeconds", "gatewayBytes", "brokerBytes", "imageBytes", "completed", "cpuPercent", "hostBusyPercent", "peerRepairRequests", "gatewayRepairRequests", "duplicatePackets" })
                Assert.True(run.TryGetProperty(f, out _), f);
            Assert.Equal(6, run.GetProperty("completed").GetInt32());
            Assert.Equal(65536, run.GetProperty("imageBytes").GetInt64());
            Assert.True(run.GetProperty("seconds").GetDouble() >= run.GetProperty("boundSeconds").GetDouble() * 0.95, run.ToString());
            Assert.True(run.GetProperty("cpuSeconds").GetDouble() > 0);
            Assert.Equal("mosquitto", run.GetProperty("broker").GetString());
        }
        var iotota = runs[0];
        var unicast = runs[1];
        Assert.Equal("iotota", iotota.GetProperty("strategy").GetString());
        long image = 65536;
        // iotota: each packet once for both groups (a relay names the other group), a few repairs at most.
        Assert.InRange(iotota.GetProperty("gatewayBytes").GetInt64(), image, image * 11 / 10);
        // unicast: every device fetches every packet from the gateway.
        Assert.True(unicast.GetProperty("gatewayBytes").GetInt64() >= 6 * image, unicast.ToString());
        Assert.True(iotota.GetProperty("gatewayBytes").GetInt64() < unicast.GetProperty("gatewayBytes").GetInt64());
        // The broker forwards at least what the gateway published to devices (PUBLISH bytes include topics).
        Assert.True(unicast.GetProperty("brokerBytes").GetInt64() >= unicast.GetProperty("gatewayBytes").GetInt64(), unicast.ToString());
        Assert.True(iotota.GetProperty("brokerBytes").GetInt64() < unicast.GetProperty("brokerBytes").GetInt64());
        Assert.True(File.Exists(Path.Combine(results, "real-homogeneous-n6.md")));
        Assert.True(new FileInfo(Path.Combine(results, "real-homogeneous-n6.png")).Length > 1000);
        Directory.Delete(results, true);
    }
}
