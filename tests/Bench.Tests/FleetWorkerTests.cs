using IotOta.Simulation.Fleet;
using IotOta.Bench;
using IotOta.VirtualDevice.Host;

namespace IotOta.Bench.Tests;

/// <summary>The fleet workers of real runs: the line protocol, how devices are split, how figures are merged, how
/// many workers the open-file limit asks for, and real worker processes against Mosquitto.</summary>
public class FleetWorkerTests
{
    [Fact]
    public void Requests_and_replies_round_trip()
    {
        string line = WorkerProtocol.FormatRequest(42, "restart", 7, 1000);
        Assert.Equal("42 restart 7 1000", line);
        var r = WorkerProtocol.ParseRequest(line);
        Assert.Equal(42, r.Id);
        Assert.Equal("restart", r.Command);
        Assert.Equal(["7", "1000"], r.Args);

        var ok = WorkerProtocol.ParseReply(WorkerProtocol.FormatReply(3, true, "5 10"));
        Assert.Equal((3L, true, "5 10"), (ok.Id, ok.Ok, ok.Payload));
        var bare = WorkerProtocol.ParseReply(WorkerProtocol.FormatReply(4, true));
        Assert.Equal((4L, true, ""), (bare.Id, bare.Ok, bare.Payload));
        // An error message with newlines stays one line.
        string err = WorkerProtocol.FormatReply(5, false, "boom\nat line 2");
        Assert.DoesNotContain('\n', err);
        var e = WorkerProtocol.ParseReply(err);
        Assert.False(e.Ok);
        Assert.Equal("boom at line 2", e.Payload);
    }

    [Theory]
    [InlineData("")]
    [InlineData("members")]
    [InlineData("x members")]
    [InlineData("-1 members")]
    public void Malformed_requests_are_refused(string line) =>
        Assert.Throws<FormatException>(() => WorkerProtocol.ParseRequest(line));

    [Theory]
    [InlineData("")]
    [InlineData("7")]
    [InlineData("7 maybe")]
    [InlineData("ok 7")]
    public void Malformed_replies_are_refused(string line) =>
        Assert.Throws<FormatException>(() => WorkerProtocol.ParseReply(line));

    [Fact]
    public void Arguments_with_spaces_cannot_be_sent()
    {
        Assert.Throws<ArgumentException>(() => WorkerProtocol.FormatRequest(1, "report", "a b"));
        Assert.Throws<ArgumentException>(() => WorkerProtocol.FormatRequest(1, "two words"));
    }

    [Fact]
    public void Device_figures_round_trip()
    {
        DeviceFigures[] f = [new(1, 262144, 9_000_000, 1234, true, 6, 12, 7, 2, 5), new(1000, 0, 17, 3, false)];
        string payload = WorkerProtocol.FormatFigures(f);
        Assert.Equal("1,262144,9000000,1234,1,6,12,7,2,5;1000,0,17,3,0,0,0,0,0,0", payload);
        Assert.Equal(f, WorkerProtocol.ParseFigures(payload));
        Assert.Empty(WorkerProtocol.ParseFigures(""));
        Assert.Throws<FormatException>(() => WorkerProtocol.ParseFigures("1,2,3,4"));
        Assert.Throws<FormatException>(() => WorkerProtocol.ParseFigures("1,2,3,4,yes,0,0"));
        Assert.Throws<FormatException>(() => WorkerProtocol.ParseFigures("1,2,3,4,1")); // the peer connection figures are required
        Assert.Throws<FormatException>(() => WorkerProtocol.ParseFigures("1,2,3,4,1,0,0")); // and the repair figures
    }

    [Fact]
    public void A_plan_splits_the_devices_into_contiguous_slices_and_locates_each()
    {
        var plan = new FleetPlan(1000, 167, 3);
        Assert.Equal([0, 333, 666], Enumerable.Range(0, 3).Select(plan.First));
        Assert.Equal([333, 333, 334], Enumerable.Range(0, 3).Select(plan.Count));
        Assert.Equal(1000, Enumerable.Range(0, 3).Sum(plan.Count));
        Assert.Equal((0, 0), plan.Locate(0));
        Assert.Equal((0, 332), plan.Locate(332));
        Assert.Equal((1, 0), plan.Locate(333));
        Assert.Equal((2, 333), plan.Locate(999));
        Assert.Throws<ArgumentOutOfRangeException>(() => plan.Locate(1000));
        // Group sizes as round-robin by node id makes them: 1000 = 167 × 5 + 165, so groups 1..165 have 6 members.
        Assert.Equal(6, plan.GroupSize(1));
        Assert.Equal(6, plan.GroupSize(165));
        Assert.Equal(5, plan.GroupSize(166));
        for (int g = 1; g <= 167; g++)
            Assert.Equal(Enumerable.Range(1, 1000).Count(n => VirtualFleet.GroupOf(n, 167) == g), plan.GroupSize(g));
        // Every group spans the workers (the descriptors of its mesh spread over them).
        Assert.All(Enumerable.Range(1, 9), g => Assert.Equal(3, Enumerable.Range(0, 1000)
            .Where(i => VirtualFleet.GroupOf(i + 1, 167) == g).Select(i => plan.Locate(i).Worker).Distinct().Count()));
    }

    [Fact]
    public void Figures_of_all_workers_merge_into_the_run_figures()
    {
        DeviceFigures[] w1 = [new(1, 100, 1000, 10, true, 4, 1, 3, 1, 2), new(2, 300, 0, 0, true, 6, 2, 4, 0, 1)];
        DeviceFigures[] w2 = [new(3, 200, 500, 5, false, 5, 0, 0, 2, 0)];
        var f = FleetPlan.Aggregate(w1.Concat(w2), 3);
        Assert.Equal((7L, 3L, 3L), (f.PeerRepairRequests, f.GatewayRepairRequests, f.DuplicatePackets)); // summed over the fleet
        Assert.Equal(6, f.PeerConnectionsMax); // the most any device held
        Assert.Equal(3, f.PeerConnectionsRefused);
        Assert.Equal([100L, 200L, 300L], f.DeviceUploadBytes);
        Assert.Equal(100.0, f.CoreAllocBytesPerMessage); // 1500 B over 15 messages
        Assert.Equal(2, f.SlotsVerified);
        // A device missing or reported twice is an error, not a smaller fleet.
        Assert.Throws<InvalidOperationException>(() => FleetPlan.Aggregate(w1, 3));
        Assert.Throws<InvalidOperationException>(() => FleetPlan.Aggregate(w1.Concat(w1).Concat(w2), 5));
        var none = FleetPlan.Aggregate([new DeviceFigures(1, 0, 0, 0, false)], 1);
        Assert.Equal(0, none.CoreAllocBytesPerMessage);
    }

    [Fact]
    public void The_open_file_limit_decides_the_number_of_workers()
    {
        // N = 100 in 9 groups fits one process: the fleet stays in the bench as before.
        Assert.Equal(1, FileLimit.ChooseWorkers(100, 9, 20_000));
        Assert.Equal(1, FileLimit.ChooseWorkers(1000, 167, -1)); // limit unknown
        // Full meshes (unlimited peer connections, 0): N = 1,000 in 167 groups (~19,500 in one process) died at 17,800
        // of 20,000: workers, each within half the limit.
        int k = FileLimit.ChooseWorkers(1000, 167, 20_000, 0);
        Assert.True(k >= 2, k.ToString());
        Assert.True(FileLimit.WorkerNeeded(1000, 167, k, 0) <= 10_000);
        Assert.True(FileLimit.WorkerNeeded(1000, 167, k - 1, 0) > 10_000 || k == 2);
        Assert.True(FileLimit.ChooseWorkers(1000, 9, 20_000, 0) > k); // bigger meshes, more workers
        Assert.Throws<InvalidOperationException>(() => FileLimit.ChooseWorkers(10_000, 1, 20_000, 0));
        // Spread over workers the fleet's share shrinks with their count.
        Assert.True(FileLimit.WorkerNeeded(1000, 167, 4, 0) < FileLimit.WorkerNeeded(1000, 167, 2, 0));
    }

    [Fact]
    public void Worker_and_fleet_arguments_round_trip()
    {
        var o = BenchOptions.Parse(["--devices", "1000", "--groups", "167", "--scenario", "heterogeneous", "--image-size", "262144",
            "--device-up-kbps", "100", "--device-down-kbps", "400.5", "--gateway-up-kbps", "1000", "--latency-ms", "7", "--seed", "3", "--fleet-workers", "3"]);
        Assert.Equal(3, o.FleetWorkers);
        var back = BenchOptions.Parse(o.FleetArgs().ToArray());
        Assert.Equal((o.Devices, o.EffectiveGroups, o.Scenario, o.ImageSize, o.ChunkSize, o.GatewayUpKbps, o.DeviceUpKbps, o.DeviceDownKbps, o.LatencyMs, o.Seed),
            (back.Devices, back.EffectiveGroups, back.Scenario, back.ImageSize, back.ChunkSize, back.GatewayUpKbps, back.DeviceUpKbps, back.DeviceDownKbps, back.LatencyMs, back.Seed));

        var w = new WorkerArgs { First = 333, Count = 333, FleetHost = "127.0.0.1", FleetPort = 4242, DataDir = "/tmp/x", KeyId = 9,
            PublicKey = [1, 2, 3], Strategy = "gossip", Bench = o };
        var w2 = WorkerArgs.Parse(w.ToArgs(o.FleetArgs()).ToArray());
        Assert.Equal((333, 333, "127.0.0.1", 4242, "/tmp/x", (byte)9, "gossip"), (w2.First, w2.Count, w2.FleetHost, w2.FleetPort, w2.DataDir, w2.KeyId, w2.Strategy));
        Assert.Equal(w.PublicKey, w2.PublicKey);
        Assert.Equal(1000, w2.Bench.Devices);
        Assert.Throws<ArgumentException>(() => WorkerArgs.Parse(["--fleet-worker", "--first", "0", "--", "--devices", "2"]));
        Assert.Throws<ArgumentException>(() => BenchOptions.Parse(["--fleet-workers", "-1"]));
    }

    /// <summary>Two real worker processes (this bench's executable in worker mode) with 6 devices in 2 groups against
    /// a Mosquitto: they start, learn their group members across the two processes, report every device once, restart a
    /// device on request, and exit when asked to quit and, for a worker whose bench is gone, when its stdin closes.</summary>
    [Fact]
    public async Task Workers_run_a_split_fleet_and_exit_with_their_bench()
    {
        await using var broker = await MosquittoProcess.StartAsync(CancellationToken.None);
        using var signer = IotOta.Gateway.Images.ManifestSigner.Generate();
        var o = new BenchOptions { Devices = 6, Groups = 2, ImageSize = 65536 };
        var plan = new FleetPlan(6, 2, 2);
        string dir = Path.Combine(Path.GetTempPath(), "bench-workers-" + Guid.NewGuid().ToString("N")[..8]);
        WorkerArgs ArgsFor(int w) => new()
        {
            First = plan.First(w), Count = plan.Count(w), FleetHost = broker.Host, FleetPort = broker.Port, DataDir = dir,
            KeyId = signer.KeyId, PublicKey = signer.SubjectPublicKeyInfo(), Strategy = "iotota", Bench = o,
        };
        // The gateway publishes each group's member list from the devices' presence.
        await using var gateway = IotOta.Gateway.Mqtt.MqttGatewayNode.Create(broker.Host, broker.Port, log: null);
        await gateway.StartAsync(CancellationToken.None);
        var fleet = await WorkerFleet.StartAsync(plan, ArgsFor, o.FleetArgs(), null, TimeSpan.FromMinutes(2), CancellationToken.None);
        var processes = fleet.Clients.Select(c => c.Process).ToList();
        var pids = processes.Select(p => p.Id).ToList();
        try
        {
            Assert.Equal(2, fleet.Workers);
            await gateway.WaitForDevicesAsync(6, TimeSpan.FromMinutes(1), CancellationToken.None);
            // Groups span the two workers (node 1, 3, 5 in group 1; 2, 4, 6 in group 2): members come through the broker.
            var until = DateTime.UtcNow.AddMinutes(1);
            int full = 0;
            while (DateTime.UtcNow < until && (full = await fleet.FullyMemberedAsync(CancellationToken.None)) < 6) await Task.Delay(100);
            Assert.Equal(6, full);
            var image = new byte[65536];
            new Random(1).NextBytes(image);
            var figures = await fleet.ReportAsync(image, CancellationToken.None);
            Assert.Equal([1u, 2u, 3u, 4u, 5u, 6u], figures.Select(f => f.NodeId).Order());
            Assert.All(figures, f => Assert.False(f.SlotVerified)); // nobody holds an image that was never sent
            Assert.All(figures, f => Assert.True(f.CoreMessages > 0, f.ToString())); // presence and member lists arrived
            await fleet.RestartDeviceAsync(4, TimeSpan.FromMilliseconds(200), CancellationToken.None); // node 5, second worker
            await Assert.ThrowsAsync<InvalidOperationException>(() => fleet.Clients[0].RequestAsync("dance", CancellationToken.None));
            Assert.True(fleet.WorkerCpuSeconds() > 0);
            Assert.True(fleet.WorkerRssBytes() > 0);
            Assert.True(fleet.MaxOpenFiles() > 0);

            // A worker whose bench is gone (stdin closed) exits by itself.
            fleet.Clients[1].CloseInput();
            using var wait = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            await processes[1].WaitForExitAsync(wait.Token);
            await Assert.ThrowsAsync<InvalidOperationException>(() => fleet.Clients[1].RequestAsync("members", CancellationToken.None));
        }
        finally
        {
            await fleet.DisposeAsync();
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
        // No orphans: both worker processes are gone (exited and reaped).
        Assert.All(pids, pid => Assert.False(Directory.Exists($"/proc/{pid}"), $"worker {pid} is still there"));
    }
}

public class ProcStatTests
{
    [Fact]
    public void Cpu_seconds_come_from_utime_and_stime_even_with_odd_command_names()
    {
        // Fields after the name: state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
        string stat = "4242 (dev-1 (pump)) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 130 0 0 20 0 7 0";
        Assert.Equal(3.8, ProcStat.ParseCpuSeconds(stat), 6);
        Assert.Throws<FormatException>(() => ProcStat.ParseCpuSeconds("garbage"));
    }

    [Fact]
    public void This_process_has_cpu_time_and_resident_memory()
    {
        Assert.True(ProcStat.CpuSeconds(Environment.ProcessId) > 0);
        Assert.True(ProcStat.RssBytes(Environment.ProcessId) > 1024 * 1024);
        Assert.Null(ProcStat.CpuSeconds(int.MaxValue));
    }
}
