using IotOta.Simulation.Fleet;
using System.Diagnostics;
using IotOta.Gateway;
using IotOta.Gateway.Mqtt;
using IotOta.Simulation.Demo;
using IotOta.Gateway.Images;
using IotOta.Gateway.Rollouts;
using IotOta.Gateway.Scheduling;
using IotOta.Simulation.Baselines;
using IotOta.Shared.Protocol;
using IotOta.VirtualDevice.Host;
using IotOta.VirtualDevice.Network;
using IotOta.VirtualDevice.Platform;
using MQTTnet;
using MQTTnet.Packets;
using MQTTnet.Server;

namespace IotOta.Bench;

/// <summary>
/// One strategy on a real emulated fleet: a Mosquitto broker in its own process (or the embedded MQTTnet broker with
/// counting interceptors), the gateway and a virtual fleet (real device core, TCP peers, file flash) in this process,
/// as the demo runs them, or, when the open-file limit needs it, in fleet worker processes (<see cref="FleetWorker"/>). For group-fanout each device also subscribes to its group's data topic (read as its own
/// in-topic), so the broker replicates each group publish to the members.
/// </summary>
public static class RealRunner
{
    /// <summary>The topic prefix of the group-fanout baseline's group data topics ({prefix}{group}/data).</summary>
    public const string GroupTopicPrefix = GroupFanoutBaseline.TopicPrefix;

    /// <summary>This process's resident bytes, from /proc/self/statm where there is one (cheap to sample every 100 ms).</summary>
    private static long SelfRss() => ProcStat.RssBytes(Environment.ProcessId) is > 0 and var b ? b : Environment.WorkingSet;

    /// <summary>MQTT connects (the first ones included) and unanswered pings of an in-process fleet's devices.</summary>
    private static (long Connects, long PingFailures) MqttLinks(IBenchFleet fleet)
    {
        if (fleet is not InProcessFleet f) return (0, 0);
        long connects = 0, failures = 0;
        foreach (var d in f.Fleet.Devices)
        {
            if (d.IsStopped) continue;
            try
            {
                connects += d.Mqtt.Connects;
                failures += d.Mqtt.PingFailures;
            }
            catch (InvalidOperationException)
            {
                // not started
            }
        }
        return (connects, failures);
    }

    /// <summary>CPU seconds of this process and of the fleet's worker processes.</summary>
    private static double FleetCpuSeconds(IBenchFleet fleet) => Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds + fleet.WorkerCpuSeconds();

    public static DemoOptions DemoOptionsOf(BenchOptions o) => new()
    {
        Devices = o.Devices, Groups = o.EffectiveGroups, ImageSize = o.ImageSize, ChunkSize = o.ChunkSize,
        GatewayUpKbps = o.GatewayUpKbps, DeviceUpKbps = o.DeviceUpKbps, DeviceDownKbps = o.DeviceDownKbps,
        SlowFraction = o.SlowFraction, SlowFactor = o.SlowFactor, Loss = o.Loss, LatencyMs = o.LatencyMs, Seed = o.Seed,
    };

    public static double Bound(BenchOptions o, LinkProfile[] links) =>
        KumarRossBound.Seconds(o.ImageSize, LinkRate.BytesPerSecond(o.GatewayUpKbps), links.Select(l => l.UpBytesPerSecond).ToList(), links.Select(l => l.DownBytesPerSecond).ToList());

    /// <summary>Slots just big enough for the image: 1,000 devices' flash files stay ~2.3 GB instead of 8 GB.</summary>
    public static int SlotSizeFor(int imageSize) => Math.Max(64 * 1024, (imageSize + 65535) / 65536 * 65536);

    public static async Task<RunResult> RunAsync(BenchOptions o, string strategy, Action<string>? log, CancellationToken ct)
    {
        var demo = DemoOptionsOf(o);
        demo.Validate();
        int groups = o.EffectiveGroups;
        var links = DemoRunner.DeviceLinks(demo);
        double bound = Bound(o, links);
        string dataDir = Path.Combine(Path.GetTempPath(), "iotota-bench-" + Guid.NewGuid().ToString("N")[..8]);
        var wall = Stopwatch.StartNew();
        long fds = FileLimit.Needed(o.Devices, groups), limit = FileLimit.EnsureAtLeast(fds);
        int workers = o.FleetWorkers > 0 ? o.FleetWorkers : FileLimit.ChooseWorkers(o.Devices, groups, limit);
        if (workers == 1 && limit >= 0 && limit < fds)
            throw new InvalidOperationException($"{o.Devices} devices in {groups} groups need about {fds} open files (at most {VirtualDeviceOptions.DefaultMaxPeerConnections} peer connections per device, both ends in this process); " +
                $"the limit is {limit} and this process may not raise it: run `ulimit -n {fds}` as root first, use fleet workers (--fleet-workers K), or use more, smaller groups (--groups)");
        if (workers > 1 && limit >= 0 && FileLimit.WorkerNeeded(o.Devices, groups, workers) > limit)
            throw new InvalidOperationException($"{o.Devices} devices in {groups} groups over {workers} fleet workers need about {FileLimit.WorkerNeeded(o.Devices, groups, workers)} open files per worker; the limit is {limit}: use more workers");
        if (workers > 1)
            log?.Invoke($"{strategy}: {workers} fleet worker processes (open files: about {fds} for the whole run, {FileLimit.WorkerNeeded(o.Devices, groups, workers)} per worker, {FileLimit.ParentNeeded(o.Devices)} in the bench; limit {limit} per process)");
        bool embedded = o.Broker == "embedded";
        await using var mosquitto = embedded ? null : await MosquittoProcess.StartAsync(ct);
        await using var broker = embedded ? await EmbeddedBroker.StartAsync() : null;
        string brokerHost = mosquitto?.Host ?? broker!.Host;
        int brokerPort = mosquitto?.Port ?? broker!.Port;
        // Devices reach the broker through its uplink (shared, shaped); the gateway reaches it directly.
        await using var uplink = o.EffectiveBrokerUpKbps > 0 ? new BrokerUplink(brokerHost, brokerPort, LinkRate.BytesPerSecond(o.EffectiveBrokerUpKbps)) : null;
        string fleetHost = uplink?.Host ?? brokerHost;
        int fleetPort = uplink?.Port ?? brokerPort;
        long brokerBytes = 0, brokerMessages = 0;
        bool counting = false;
        var meter = broker != null ? new EmbeddedBrokerMeter(broker.Server) : null;
        if (broker != null)
        {
            broker.Server.InterceptingOutboundPacketAsync += e =>
            {
                if (Volatile.Read(ref counting) && e.Packet is MqttPublishPacket p)
                {
                    Interlocked.Add(ref brokerBytes, p.Payload.Length);
                    Interlocked.Increment(ref brokerMessages);
                }
                return Task.CompletedTask;
            };
        }
        using var signer = ManifestSigner.Generate();
        var verifier = new EcdsaSignatureVerifier();
        verifier.Add(signer.KeyId, signer.PublicKey());
        var gateway = MqttGatewayNode.Create(brokerHost, brokerPort, pace: TokenBucket.Serializer(LinkRate.BytesPerSecond(o.GatewayUpKbps), TokenBucket.HostSlop) /* no idle credit, so no original beats F/u_s */.ConsumeAsync, log: null);
        IBenchFleet? fleet = null;
        try
        {
            await gateway.StartAsync(ct);
            int slot = SlotSizeFor(o.ImageSize);
            if (workers == 1)
            {
                fleet = new InProcessFleet(await VirtualFleet.StartAsync(o.Devices, groups, fleetHost, fleetPort, dataDir, verifier, i => links[i],
                    new FirmwareVersion(1, 0, 0), null, ct, slotSize: slot,
                    groupDataTopic: strategy == "group-fanout" ? g => GroupTopicPrefix + g + "/data" : null));
            }
            else
            {
                var plan = new FleetPlan(o.Devices, groups, workers);
                byte[] key = signer.SubjectPublicKeyInfo();
                fleet = await WorkerFleet.StartAsync(plan, w => new WorkerArgs
                {
                    First = plan.First(w), Count = plan.Count(w), FleetHost = fleetHost, FleetPort = fleetPort, DataDir = dataDir,
                    KeyId = signer.KeyId, PublicKey = key, Strategy = strategy, Bench = o,
                }, o.FleetArgs(), log, TimeSpan.FromSeconds(Math.Max(120, o.Devices / 2.0)), ct);
            }
            await gateway.WaitForDevicesAsync(o.Devices, TimeSpan.FromSeconds(Math.Max(120, o.Devices / 5.0)), ct);
            var deadline = DateTime.UtcNow.AddSeconds(15);
            while (DateTime.UtcNow < deadline && await fleet.FullyMemberedAsync(ct) < o.Devices)
                await Task.Delay(50, ct);
            log?.Invoke($"{strategy}: {o.Devices} devices online in {wall.Elapsed.TotalSeconds:0.0} s");

            var bytes = new byte[o.ImageSize];
            new Random(o.Seed).NextBytes(bytes);
            var version = new FirmwareVersion(2, 0, 0);
            var image = FirmwareImage.Create(bytes, version, signer, o.ChunkSize);
            var options = new RolloutOptions
            {
                Timeout = TimeSpan.FromSeconds(o.TimeoutSeconds),
                // Group fan-out publishes no faster than the broker's uplink carries the copies it makes.
                Baseline = Baseline.Named(strategy, o.EffectiveBrokerUpKbps > 0 ? new TokenBucket(LinkRate.BytesPerSecond(o.EffectiveBrokerUpKbps), 16 * 1024).ConsumeAsync : null),
                Scheduler = new SchedulerOptions { PriorForwardRate = LinkRate.BytesPerSecond(o.DeviceUpKbps) },
                // iotota speaks protocol v2 (issue #15): the signed root to each group's piece seeds, the hash list over the devices' links.
                Root = strategy == "iotota" ? ImageRootSet.Create(image, signer) : null,
            };
            var done = new System.Collections.Concurrent.ConcurrentDictionary<uint, double>();
            var clock = Stopwatch.StartNew();
            gateway.Registry.DeviceUpdated += r =>
            {
                if (r.Version.SameAs(version) && r.State == DeviceState.Updated) done.TryAdd(r.NodeId, clock.Elapsed.TotalSeconds);
            };
            long peakRss = SelfRss() + fleet.WorkerRssBytes();
            int peakFds = OpenFiles.Count(Environment.ProcessId), peakWorkerFds = fleet is WorkerFleet wf0 ? wf0.MaxOpenFiles() : 0;
            using var sampling = new CancellationTokenSource();
            // Not while the idle fleet's CPU is measured: listing /proc/PID/fd once a second (1,200 descriptors at
            // N = 1,000) was 18 % of the bench process's CPU samples in that window (perf), and it is the bench's cost,
            // not the fleet's. Descriptors and RSS do not peak while nothing is sent.
            bool idleWindow = false;
            var sampler = Task.Run(async () =>
            {
                for (int n = 0; !sampling.IsCancellationRequested; n++)
                {
                    if (Volatile.Read(ref idleWindow))
                    {
                        try { await Task.Delay(100, sampling.Token); } catch (OperationCanceledException) { }
                        continue;
                    }
                    peakRss = Math.Max(peakRss, SelfRss() + fleet.WorkerRssBytes());
                    if (n % 10 == 0)
                    {
                        // Open descriptors per process, once a second (listing /proc/PID/fd is not free at 10,000).
                        peakFds = Math.Max(peakFds, OpenFiles.Count(Environment.ProcessId));
                        if (fleet is WorkerFleet wf) peakWorkerFds = Math.Max(peakWorkerFds, wf.MaxOpenFiles());
                    }
                    try { await Task.Delay(100, sampling.Token); } catch (OperationCanceledException) { }
                }
            });
            (long Bytes, long Messages)? sys0 = null;
            BrokerBytes? traffic0 = meter?.Snapshot();
            (long Sent, long Received) bytes0 = default;
            long data0 = ((gateway.Broker as GatewayMqttClient)?.DataWireBytesPublished ?? 0);
            if (mosquitto != null)
            {
                try { sys0 = await mosquitto.FreshCountersAsync(ct); bytes0 = mosquitto.ByteCounters(); }
                catch (Exception e) when (e is TimeoutException or MQTTnet.Exceptions.MqttCommunicationException) { log?.Invoke($"{strategy}: broker counters unavailable: {e.Message}"); }
            }
            // The idle fleet's own cost (ticks, pumps, keep-alives) over --idle-seconds (2 s), before anything is sent.
            // With fleet workers: this process and the workers together.
            Volatile.Write(ref idleWindow, true);
            await fleet.ThreadsAsync(ct);
            var idleThreads0 = ThreadCpu.ByName();
            double idle0 = FleetCpuSeconds(fleet);
            var idleClock = Stopwatch.StartNew();
            await Task.Delay(TimeSpan.FromSeconds(o.IdleSeconds), ct);
            double idleCpuSeconds = FleetCpuSeconds(fleet) - idle0;
            Volatile.Write(ref idleWindow, false);
            double idleCpuPercent = Math.Round(100 * idleCpuSeconds / (idleClock.Elapsed.TotalSeconds * Environment.ProcessorCount), 1);
            string idleWorkers = await fleet.ThreadsAsync(ct);
            log?.Invoke($"{strategy}: idle fleet CPU by thread: bench: {ThreadCpu.Top(ThreadCpu.ByName(), idleThreads0)}{(idleWorkers.Length > 0 ? "; " + idleWorkers : "")}");
            log?.Invoke($"{strategy}: idle fleet: {idleCpuSeconds:0.00} CPU s in {idleClock.Elapsed.TotalSeconds:0.0} s = {idleCpuPercent} % of the cores (bench process{(fleet.Workers > 0 ? " and fleet workers" : "")})");
            var threads0 = ThreadCpu.ByName();
            double cpu0 = FleetCpuSeconds(fleet);
            double brokerCpu0 = mosquitto?.CpuSeconds() ?? 0;
            HostCpu host0 = HostCpu.Read();
            Volatile.Write(ref counting, true);
            (long Connects, long PingFailures) mqtt0 = MqttLinks(fleet);
            clock.Restart();
            // A line every 5 s while it runs (with --verbose-like logging on stderr): deliveries, updated, gateway bytes.
            double lastProgress = -5;
            var progress = log == null ? null : new Progress<RolloutSnapshot>(p =>
            {
                if (p.Elapsed.TotalSeconds - lastProgress < 5) return;
                lastProgress = p.Elapsed.TotalSeconds;
                log($"{strategy}: {p.Elapsed.TotalSeconds:0} s: deliveries {p.DeliveriesDone}/{p.DeliveriesTotal}, updated {p.Updated}/{p.Devices}, gateway {(double)p.GatewayPayloadBytes / p.ImageBytes:0.00} x image");
            });
            var rollout = gateway.RunRolloutAsync(image, options, progress, ct);
            Task churn = Task.CompletedTask;
            if (o.ChurnFraction > 0)
            {
                // 10 % of the devices (never a group's first member, the gossip seed) power off a third of the way
                // into the bound's time and come back 1 s later from their flash.
                var rng = new Random(o.Seed + 7);
                var leaving = Enumerable.Range(groups, o.Devices - groups).OrderBy(_ => rng.Next())
                    .Take((int)Math.Round(o.Devices * o.ChurnFraction)).ToList();
                churn = Task.Run(async () =>
                {
                    await Task.Delay(TimeSpan.FromSeconds(Math.Max(0.3, bound / 3)), ct);
                    log?.Invoke($"{strategy}: churn: {leaving.Count} devices leave");
                    await Task.WhenAll(leaving.Select(i => fleet.RestartDeviceAsync(i, TimeSpan.FromSeconds(1), ct)));
                    log?.Invoke($"{strategy}: churn: they are back");
                }, ct);
            }
            RolloutResult r = await rollout;
            // Protocol v2: no data is planned before every live device holds the hash list, or RolloutOptions.ReconnectSettle passed.
            if (r.ListHeldSeconds is double held) log?.Invoke($"{strategy}: every device held the hash list {held:0.00} s after the start");
            else if (strategy == "iotota") log?.Invoke($"{strategy}: not every device reported holding the hash list");
            if (fleet is InProcessFleet)
            {
                // Each reconnect costs the first network a new session and every retained message the device subscribes to
                // again (its group's member list: ~1.1 KB at 111 members).
                (long Connects, long PingFailures) mqtt1 = MqttLinks(fleet);
                log?.Invoke($"{strategy}: MQTT during the rollout: {mqtt1.Connects - mqtt0.Connects} reconnects, {mqtt1.PingFailures - mqtt0.PingFailures} unanswered pings");
            }
            await churn;
            double seconds = clock.Elapsed.TotalSeconds;
            Volatile.Write(ref counting, false);
            double cpu = FleetCpuSeconds(fleet) - cpu0;
            double brokerCpu = (mosquitto?.CpuSeconds() ?? 0) - brokerCpu0;
            double hostBusy = HostCpu.Read().BusyPercentSince(host0);
            string rolloutWorkers = await fleet.ThreadsAsync(ct);
            log?.Invoke($"{strategy}: CPU by thread: {ThreadCpu.Top(ThreadCpu.ByName(), threads0)}{(rolloutWorkers.Length > 0 ? "; " + rolloutWorkers : "")}; idle fleet before the rollout {idleCpuPercent} % of the cores");
            BrokerReport? traffic = meter != null ? BrokerReport.From(meter.Snapshot().Since(traffic0!), null, o.ImageSize, o.Devices) : null;
            if (mosquitto != null)
            {
                brokerBytes = brokerMessages = -1; // unknown unless both readings come
                try
                {
                    var sys1 = await mosquitto.FreshCountersAsync(ct);
                    if (sys0 is { } s0)
                    {
                        brokerBytes = sys1.Bytes - s0.Bytes;
                        brokerMessages = sys1.Messages - s0.Messages;
                        var (sent1, received1) = mosquitto.ByteCounters();
                        // Data: the gateway's data PUBLISHes at wire size; a group-topic packet reaches every member.
                        long data = (((gateway.Broker as GatewayMqttClient)?.DataWireBytesPublished ?? 0) - data0) * (strategy == "group-fanout" ? Math.Max(1, o.Devices / groups) : 1);
                        traffic = BrokerReport.From(new BrokerBytes("mosquitto $SYS/broker/bytes/sent|received (all client bytes; ±1 s of idle traffic); data = the gateway's data PUBLISHes at wire size",
                            sent1 - bytes0.Sent, received1 - bytes0.Received, data, ((gateway.Broker as GatewayMqttClient)?.DataWireBytesPublished ?? 0) - data0, new SortedDictionary<string, long>(), new SortedDictionary<string, long>()), null, o.ImageSize, o.Devices);
                    }
                }
                catch (Exception e) when (e is TimeoutException or MQTTnet.Exceptions.MqttCommunicationException) { log?.Invoke($"{strategy}: broker counters unavailable: {e.Message}"); }
            }
            sampling.Cancel();
            await sampler;
            var times = done.Values.OrderBy(x => x).ToArray();
            var (median, p99) = RunResult.Percentiles(times, o.Devices);
            var figures = FleetPlan.Aggregate(await fleet.ReportAsync(image.Bytes, ct), o.Devices);
            int verified = figures.SlotsVerified;
            log?.Invoke($"{strategy}: peak open files: bench process {peakFds}" + (fleet.Workers > 0 ? $", largest of {fleet.Workers} fleet workers {peakWorkerFds}" : " (fleet in process)"));
            return new RunResult
            {
                Strategy = strategy, Scenario = o.Scenario, Mode = "real", Devices = o.Devices, Groups = groups,
                Completed = Math.Min(verified, times.Length),
                Seconds = Math.Round(times.Length == o.Devices ? times[^1] : seconds, 3),
                MedianSeconds = Math.Round(median, 3), P99Seconds = Math.Round(p99, 3),
                BoundSeconds = Math.Round(bound, 3), ImageBytes = image.Bytes.Length, GatewayBytes = r.GatewayPayloadBytes,
                BrokerBytes = brokerBytes, BrokerMessages = brokerMessages, BrokerTraffic = traffic,
                BrokerCounting = mosquitto != null
                    ? "mosquitto $SYS/broker/publish/bytes/sent and messages/sent (PUBLISH packets out incl. topic and header; ±1 s of idle traffic)"
                    : "embedded MQTTnet broker, InterceptingOutboundPacketAsync: PUBLISH payload bytes to all clients",
                IdleCpuPercent = idleCpuPercent,
                Broker = o.Broker, BrokerCpuSeconds = Math.Round(brokerCpu, 2), HostBusyPercent = hostBusy,
                CpuPercent = Math.Round(100 * (cpu + brokerCpu) / (Math.Max(0.001, seconds) * Environment.ProcessorCount), 1),
                DeviceUploadBytes = figures.DeviceUploadBytes,
                CpuSeconds = Math.Round(cpu, 2), PeakRssBytes = peakRss,
                CoreAllocBytesPerMessage = figures.CoreAllocBytesPerMessage,
                FleetWorkers = fleet.Workers, PeakOpenFiles = peakFds, PeakWorkerOpenFiles = peakWorkerFds,
                TimedOut = r.TimedOut, WallSeconds = Math.Round(wall.Elapsed.TotalSeconds, 1),
                Note = $"gateway: {r.OriginalsSent} originals naming {r.RelaysNamed} relays, {r.RepairCopiesSent} repair copies, " +
                    $"{r.Reallocations} deliveries planned again ({r.ReplansBy?.TimedOut} timed out, {r.ReplansBy?.RelayTimedOut} relays timed out, " +
                    $"{r.ReplansBy?.Left} left, {r.ReplansBy?.Withdrawn} withdrawn; notices {r.NoticeLatenessSeconds:0.00} ± {r.NoticeDeviationSeconds:0.00} s late), " +
                    $"{r.DeliveriesSkipped} skipped as held",
                CompletionTimes = times,
                PeerConnectionsMax = figures.PeerConnectionsMax, PeerConnectionsRefused = figures.PeerConnectionsRefused,
                PeerRepairRequests = figures.PeerRepairRequests, GatewayRepairRequests = figures.GatewayRepairRequests, DuplicatePackets = figures.DuplicatePackets,
            };
        }
        finally
        {
            if (fleet != null) await fleet.DisposeAsync();
            await gateway.DisposeAsync();
            try { Directory.Delete(dataDir, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
