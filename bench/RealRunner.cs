using System.Diagnostics;
using IotOta.Gateway;
using IotOta.Gateway.Demo;
using IotOta.Gateway.Images;
using IotOta.Gateway.Rollouts;
using IotOta.Gateway.Scheduling;
using IotOta.Shared.Protocol;
using IotOta.VirtualDevice.Host;
using IotOta.VirtualDevice.Network;
using IotOta.VirtualDevice.Platform;
using MQTTnet;
using MQTTnet.Packets;
using MQTTnet.Server;

namespace IotOta.Bench;

/// <summary>
/// One strategy on a real emulated fleet: the embedded MQTTnet broker (with counting interceptors), the gateway and
/// a virtual fleet (real device core, TCP peers, file flash) in this process, as the demo runs them.
/// </summary>
public static class RealRunner
{
    public const string GroupTopicPrefix = "iotota/bench/group/";

    public static RolloutStrategy StrategyOf(string name) => name switch
    {
        "iotota" => RolloutStrategy.IotOta,
        "unicast" => RolloutStrategy.Unicast,
        "group-fanout" => RolloutStrategy.GroupFanout,
        "gossip" => RolloutStrategy.Gossip,
        _ => throw new ArgumentException($"unknown strategy {name}"),
    };

    public static DemoOptions DemoOptionsOf(BenchOptions o) => new()
    {
        Devices = o.Devices, Groups = o.EffectiveGroups, ImageSize = o.ImageSize, ChunkSize = o.ChunkSize,
        GatewayUpKbps = o.GatewayUpKbps, DeviceUpKbps = o.DeviceUpKbps, DeviceDownKbps = o.DeviceDownKbps,
        SlowFraction = o.SlowFraction, SlowFactor = o.SlowFactor, Loss = o.Loss, LatencyMs = o.LatencyMs, Seed = o.Seed,
    };

    public static double Bound(BenchOptions o, LinkProfile[] links) =>
        KumarRossBound.Seconds(o.ImageSize, o.GatewayUpKbps * 125, links.Select(l => l.UpBytesPerSecond).ToList(), links.Select(l => l.DownBytesPerSecond).ToList());

    public static async Task<RunResult> RunAsync(BenchOptions o, string strategy, Action<string>? log, CancellationToken ct)
    {
        var demo = DemoOptionsOf(o);
        demo.Validate();
        int groups = o.EffectiveGroups;
        var links = DemoRunner.DeviceLinks(demo);
        double bound = Bound(o, links);
        string dataDir = Path.Combine(Path.GetTempPath(), "iotota-bench-" + Guid.NewGuid().ToString("N")[..8]);
        var wall = Stopwatch.StartNew();
        await using var broker = await EmbeddedBroker.StartAsync();
        long brokerBytes = 0, brokerMessages = 0;
        bool counting = false;
        broker.Server.InterceptingOutboundPacketAsync += e =>
        {
            if (Volatile.Read(ref counting) && e.Packet is MqttPublishPacket p)
            {
                Interlocked.Add(ref brokerBytes, p.Payload.Length);
                Interlocked.Increment(ref brokerMessages);
            }
            return Task.CompletedTask;
        };
        if (strategy == "group-fanout")
        {
            // Devices have no group data subscription in protocol v1: the broker's replication is emulated inside the
            // broker (an interceptor re-injects each group publish to every member's in-topic), so the gateway sends
            // once per group and the broker's outbound bytes are what a group topic would cost.
            broker.Server.InterceptingPublishAsync += async e =>
            {
                string t = e.ApplicationMessage.Topic;
                if (!t.StartsWith(GroupTopicPrefix, StringComparison.Ordinal)) return;
                int g = int.Parse(t[GroupTopicPrefix.Length..t.IndexOf('/', GroupTopicPrefix.Length)]);
                byte[] payload = System.Buffers.BuffersExtensions.ToArray(e.ApplicationMessage.Payload);
                for (int node = g; node <= o.Devices; node += groups)
                {
                    var m = new MqttApplicationMessageBuilder().WithTopic(Topics.DeviceIn((uint)node)).WithPayload(payload).Build();
                    await broker.Server.InjectApplicationMessage(new InjectedMqttApplicationMessage(m), ct);
                }
            };
        }
        using var signer = ManifestSigner.Generate();
        var verifier = new EcdsaSignatureVerifier();
        verifier.Add(signer.KeyId, signer.PublicKey());
        var gateway = new GatewayNode(broker.Host, broker.Port, upBucket: new TokenBucket(o.GatewayUpKbps * 125, 16 * 1024), log: null);
        VirtualFleet? fleet = null;
        try
        {
            await gateway.StartAsync(ct);
            fleet = await VirtualFleet.StartAsync(o.Devices, groups, broker.Host, broker.Port, dataDir, verifier, i => links[i],
                new FirmwareVersion(1, 0, 0), null, ct);
            await gateway.WaitForDevicesAsync(o.Devices, TimeSpan.FromSeconds(120), ct);
            var deadline = DateTime.UtcNow.AddSeconds(15);
            while (DateTime.UtcNow < deadline && !fleet.Devices.All(d => d.Agent.MemberCount == fleet.Devices.Count(x => x.GroupId == d.GroupId)))
                await Task.Delay(50, ct);
            log?.Invoke($"{strategy}: {o.Devices} devices online in {wall.Elapsed.TotalSeconds:0.0} s");

            var bytes = new byte[o.ImageSize];
            new Random(o.Seed).NextBytes(bytes);
            var version = new FirmwareVersion(2, 0, 0);
            var image = FirmwareImage.Create(bytes, version, signer, o.ChunkSize);
            var options = new RolloutOptions
            {
                Timeout = TimeSpan.FromSeconds(o.TimeoutSeconds),
                Strategy = StrategyOf(strategy),
                GroupDataTopic = g => GroupTopicPrefix + g + "/data",
                Scheduler = new SchedulerOptions { PriorForwardRate = o.DeviceUpKbps * 125 },
            };
            var done = new System.Collections.Concurrent.ConcurrentDictionary<uint, double>();
            var clock = Stopwatch.StartNew();
            gateway.Registry.DeviceUpdated += r =>
            {
                if (r.Version.SameAs(version) && r.State == DeviceState.Updated) done.TryAdd(r.NodeId, clock.Elapsed.TotalSeconds);
            };
            long peakRss = Environment.WorkingSet;
            using var sampling = new CancellationTokenSource();
            var sampler = Task.Run(async () =>
            {
                while (!sampling.IsCancellationRequested)
                {
                    peakRss = Math.Max(peakRss, Environment.WorkingSet);
                    try { await Task.Delay(100, sampling.Token); } catch (OperationCanceledException) { }
                }
            });
            TimeSpan cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            Volatile.Write(ref counting, true);
            clock.Restart();
            var rollout = gateway.RunRolloutAsync(image, options, null, ct);
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
            await churn;
            double seconds = clock.Elapsed.TotalSeconds;
            Volatile.Write(ref counting, false);
            double cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
            sampling.Cancel();
            await sampler;
            var times = done.Values.OrderBy(x => x).ToArray();
            var (median, p99) = RunResult.Percentiles(times, o.Devices);
            var up = fleet.Devices.Select(d => d.PeerPayloadBytesSent).OrderBy(x => x).ToArray();
            long alloc = fleet.Devices.Sum(d => d.CoreAllocatedBytes), msgs = fleet.Devices.Sum(d => d.CoreMessages);
            int verified = fleet.Devices.Count(d => !d.IsStopped && DemoRunner.SlotMatches(d, image.Bytes));
            return new RunResult
            {
                Strategy = strategy, Scenario = o.Scenario, Mode = "real", Devices = o.Devices, Groups = groups,
                Completed = Math.Min(verified, times.Length),
                Seconds = Math.Round(times.Length == o.Devices ? times[^1] : seconds, 3),
                MedianSeconds = Math.Round(median, 3), P99Seconds = Math.Round(p99, 3),
                BoundSeconds = Math.Round(bound, 3), ImageBytes = image.Bytes.Length, GatewayBytes = r.GatewayPayloadBytes,
                BrokerBytes = brokerBytes, BrokerMessages = brokerMessages,
                BrokerCounting = "embedded MQTTnet broker, InterceptingOutboundPacketAsync: PUBLISH payload bytes to all clients",
                DeviceUploadBytes = up.Length == 0 ? [0, 0, 0] : [up[0], up[up.Length / 2], up[^1]],
                CpuSeconds = Math.Round(cpu, 2), PeakRssBytes = peakRss,
                CoreAllocBytesPerMessage = msgs == 0 ? 0 : Math.Round((double)alloc / msgs, 2),
                TimedOut = r.TimedOut, WallSeconds = Math.Round(wall.Elapsed.TotalSeconds, 1),
                CompletionTimes = times,
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
