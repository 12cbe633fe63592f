using System.Diagnostics;
using IotOta.Simulation.Fleet;
using IotOta.Gateway;
using IotOta.Gateway.Api;
using IotOta.Gateway.Mqtt;
using IotOta.Simulation.Demo;
using IotOta.Gateway.Images;
using IotOta.Gateway.Persistence;
using IotOta.Gateway.Rollouts;
using IotOta.Gateway.Scheduling;
using IotOta.Shared.Protocol;
using IotOta.TestSupport;
using IotOta.VirtualDevice.Host;
using IotOta.VirtualDevice.Network;
using IotOta.VirtualDevice.Platform;
using MQTTnet;

namespace IotOta.FaultSuite.Fleet;

/// <summary>How big the fleet and image of each scenario are, and how fast the links (slow enough that faults land
/// mid-rollout).</summary>
public sealed record FleetScenarioOptions
{
    public int Devices { get; init; } = 30;
    public int Groups { get; init; } = 3;
    public int ImageSize { get; init; } = 1024 * 1024;
    public int ChunkSize { get; init; } = 4096;
    /// <summary>Gateway upload, bytes/s: sets how long the rollout takes.</summary>
    public double GatewayUpBytesPerSecond { get; init; } = 300_000;
    /// <summary>Fraction of the fleet's packets held when the fault strikes.</summary>
    public double FaultAt { get; init; } = 0.4;
    public TimeSpan BrokerDown { get; init; } = TimeSpan.FromSeconds(2);
    public TimeSpan ChurnOff { get; init; } = TimeSpan.FromSeconds(1);
    public double ChurnFraction { get; init; } = 0.1;
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(120);
    public int Seed { get; init; } = 1;
    /// <summary>How long the partition scenario keeps one group cut off from the broker.</summary>
    public TimeSpan Partition { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>The group the partition scenario cuts off (1-based).</summary>
    public int PartitionGroup { get; init; } = 1;
}

/// <summary>One scenario's outcome. resentBytes: payload the gateway sent to devices for packets they were known to
/// hold; recoverySeconds: from the end of the fault (gateway started again, broker back, devices back) to the
/// rollout's completion.</summary>
public sealed record FleetScenarioResult(string Name, bool Completed, long ResentBytes, long ImageBytes, double RecoverySeconds,
    int Updated, int Devices, long GatewayPayloadBytes, string Detail)
{
    /// <summary>Security scenarios: true only when the broker observably refused every attempt; null elsewhere.</summary>
    public bool? Refused { get; init; }
    /// <summary>The scenario's limit on re-sent bytes as a fraction of the image (1 % unless it says otherwise).</summary>
    public double MaxResentFraction { get; init; } = 0.01;
    /// <summary>The scenario's limit on the gateway's payload over the whole run, × image (null: none).</summary>
    public double? MaxPayloadRatio { get; init; }
    /// <summary>Seconds from each returning device's restart to its report of running the image (null: not measured).</summary>
    public IReadOnlyDictionary<uint, double>? RecoveryPerDevice { get; init; }
    /// <summary>Gateway payload from the last returning devices' restart to the end (their catch-up; null: not measured).</summary>
    public long? CatchUpPayloadBytes { get; init; }

    /// <summary>Completed, and re-sent bytes and the gateway's payload within the scenario's limits.</summary>
    public bool Passed => Completed && ResentBytes <= ImageBytes * MaxResentFraction && Refused != false
        && (MaxPayloadRatio is not double ratio || GatewayPayloadBytes <= ImageBytes * ratio);

    public Dictionary<string, object> ToJson()
    {
        var d = Fields();
        if (Refused is bool refused) d["refused"] = refused;
        if (RecoveryPerDevice != null) d["recoverySecondsPerDevice"] = RecoveryPerDevice.OrderBy(kv => kv.Key).ToDictionary(kv => kv.Key.ToString(), kv => Math.Round(kv.Value, 3));
        if (CatchUpPayloadBytes is long c) d["catchUpPayloadBytes"] = c;
        d["passed"] = Passed;
        return d;
    }

    private Dictionary<string, object> Fields() => new()
    {
        ["name"] = Name,
        ["completed"] = Completed,
        ["resentBytes"] = ResentBytes,
        ["imageBytes"] = ImageBytes,
        ["recoverySeconds"] = Math.Round(RecoverySeconds, 3),
        ["updated"] = Updated,
        ["devices"] = Devices,
        ["gatewayPayloadBytes"] = GatewayPayloadBytes,
        ["detail"] = Detail,
    };
}

/// <summary>
/// The fleet fault suite: a real Mosquitto broker (tests/TestSupport), the gateway (GatewayNode + RolloutManager) and
/// a virtual fleet in this process; each scenario strikes mid-rollout and checks that the rollout completes with every
/// device's active slot holding the image byte for byte.
/// </summary>
public static partial class FleetFaultSuite
{
    public static readonly string[] ScenarioNames = ["gateway-restart", "broker-restart", "churn", "partition", "late-join", ImpersonationScenario.Name, GatewayTopicScenario.Name, GatewayKill9Scenario.Name, DeviceKill9Scenario.Name];

    public static async Task<FleetScenarioResult> RunAsync(string name, FleetScenarioOptions o, Action<string>? log, CancellationToken ct) => name switch
    {
        "gateway-restart" => await GatewayRestartAsync(o, log, ct),
        "broker-restart" => await BrokerRestartAsync(o, log, ct),
        "churn" => await ChurnAsync(o, log, ct),
        "partition" => await PartitionAsync(o, log, ct),
        "late-join" => await LateJoinAsync(o, log, ct),
        ImpersonationScenario.Name => await ImpersonationScenario.RunAsync(o, log, ct),
        GatewayTopicScenario.Name => await GatewayTopicScenario.RunAsync(o, log, ct),
        GatewayKill9Scenario.Name => await GatewayKill9Scenario.RunAsync(o, log, ct),
        DeviceKill9Scenario.Name => await DeviceKill9Scenario.RunAsync(o, log, ct),
        _ => throw new ArgumentException($"unknown scenario '{name}'"),
    };

    internal sealed class Rig : IAsyncDisposable
    {
        public required MosquittoBroker Broker;
        public required TempDir Dir;
        public required ManifestSigner Signer;
        public VirtualFleet? Fleet;
        public readonly List<IAsyncDisposable> Gateways = new();
        public readonly List<GatewayDatabase> Databases = new();
        /// <summary>Links between devices and the broker (the partition's proxies).</summary>
        public readonly List<IAsyncDisposable> Links = new();

        public async ValueTask DisposeAsync()
        {
            if (Fleet != null) await Fleet.DisposeAsync();
            foreach (var l in Links) await l.DisposeAsync();
            foreach (var g in Gateways) await g.DisposeAsync();
            foreach (var d in Databases) d.Dispose();
            await Broker.DisposeAsync();
            Signer.Dispose();
            Dir.Dispose();
        }
    }

    private static async Task<Rig> StartRigAsync(FleetScenarioOptions o, Action<string>? log, CancellationToken ct)
    {
        var rig = new Rig { Broker = await MosquittoBroker.StartAsync(ct: ct), Dir = new TempDir("iotota-fleet"), Signer = ManifestSigner.Generate() };
        return rig;
    }

    private static async Task StartFleetAsync(Rig rig, FleetScenarioOptions o, GatewayNode gateway, Action<string>? log, CancellationToken ct,
        Func<int, int>? brokerPortFor = null)
    {
        var verifier = new EcdsaSignatureVerifier();
        verifier.Add(rig.Signer.KeyId, rig.Signer.PublicKey());
        rig.Fleet = await VirtualFleet.StartAsync(o.Devices, o.Groups, rig.Broker.Host, rig.Broker.Port, Path.Combine(rig.Dir.Path, "fleet"), verifier,
            null, new FirmwareVersion(1, 0, 0), null, ct, brokerPortFor: brokerPortFor);
        await gateway.WaitForDevicesAsync(o.Devices, TimeSpan.FromSeconds(60), ct);
        await MemberLists.WaitCompleteAsync(rig.Fleet.Devices, TimeSpan.FromSeconds(15), ct);
    }

    private static GatewayNode NewGateway(Rig rig, FleetScenarioOptions o, GatewayDatabase? db, Action<string>? log) =>
        MqttGatewayNode.Create(rig.Broker.Host, rig.Broker.Port, pace: new TokenBucket(o.GatewayUpBytesPerSecond, 16 * 1024).ConsumeAsync, log: log, store: db);

    private static RolloutManager NewManager(GatewayNode gw, Rig rig, IImageStore images, IRolloutStore rollouts, FleetScenarioOptions o, Action<string>? log) =>
        new(gw, rig.Signer, images, rollouts, new RolloutManagerOptions
        {
            ChunkSize = o.ChunkSize,
            MaxImageBytes = 64L * 1024 * 1024,
            Log = log,
            Scheduler = new SchedulerOptions(),
        });

    internal static byte[] Image(FleetScenarioOptions o)
    {
        var b = new byte[o.ImageSize];
        new Random(o.Seed).NextBytes(b);
        return b;
    }

    /// <summary>Waits until the fleet holds the given fraction of all packets (Agent.HeldCount over every device).</summary>
    internal static async Task WaitForFractionAsync(VirtualFleet fleet, int chunks, double fraction, TimeSpan timeout, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        long need = (long)(fraction * chunks * fleet.Devices.Count);
        while (sw.Elapsed < timeout)
        {
            long held = fleet.Devices.Sum(d => d.IsStopped ? 0L : d.Agent.HeldCount);
            if (held >= need) return;
            await Task.Delay(10, ct);
        }
        throw new TimeoutException($"the fleet did not reach {fraction:P0} of its packets within {timeout.TotalSeconds:0} s");
    }

    /// <summary>Waits (up to timeout) until every device runs the image from its active slot.</summary>
    internal static async Task<int> WaitAllUpdatedAsync(VirtualFleet fleet, byte[] image, TimeSpan timeout, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        int ok = 0;
        while (true)
        {
            ok = fleet.Devices.Count(d => !d.IsStopped && d.Agent.State == DeviceState.Updated && DemoRunner.SlotMatches(d, image));
            if (ok == fleet.Devices.Count || sw.Elapsed > timeout) return ok;
            await Task.Delay(100, ct);
        }
    }

    /// <summary>Gateway killed mid-rollout (its SQLite file is frozen at that instant, its MQTT link dropped without a
    /// clean finish), a new gateway started on the same file resumes the rollout.</summary>
    public static async Task<FleetScenarioResult> GatewayRestartAsync(FleetScenarioOptions o, Action<string>? log, CancellationToken ct)
    {
        await using var rig = await StartRigAsync(o, log, ct);
        string dbPath = Path.Combine(rig.Dir.Path, "gateway", "iotota.db");
        var db1 = new SqliteGatewayDatabase(dbPath);
        rig.Databases.Add(db1);
        var gw1 = NewGateway(rig, o, db1, log);
        await gw1.StartAsync(ct);
        await StartFleetAsync(rig, o, gw1, log, ct);
        var m1 = NewManager(gw1, rig, new DatabaseImageStore(db1), new DatabaseRolloutStore(db1), o, log);
        byte[] bytes = Image(o);
        var img = m1.AddImage(bytes, "2.0.0", null, "fleet.bin");
        var r = m1.Create(new CreateRolloutRequest(img.Id, TimeoutSeconds: (int)o.Timeout.TotalSeconds));
        m1.Start(r.Id);
        await WaitForFractionAsync(rig.Fleet!, img.ChunkCount, o.FaultAt, o.Timeout, ct);
        // kill: nothing more reaches the file; the MQTT link goes without the rollout ending
        db1.SimulateCrash();
        long payload1 = gw1.Broker.BytesPublished;
        await gw1.DisposeAsync();
        long heldAtCrash = rig.Fleet!.Devices.Sum(d => (long)d.Agent.HeldCount);
        log?.Invoke($"gateway killed with {heldAtCrash} of {(long)img.ChunkCount * o.Devices} packets held in the fleet");

        var recovery = Stopwatch.StartNew();
        var db2 = new SqliteGatewayDatabase(dbPath);
        rig.Databases.Add(db2);
        var gw2 = NewGateway(rig, o, db2, log);
        rig.Gateways.Add(gw2);
        await gw2.StartAsync(ct);
        await gw2.WaitForDevicesAsync(o.Devices, TimeSpan.FromSeconds(30), ct);
        var m2 = NewManager(gw2, rig, new DatabaseImageStore(db2), new DatabaseRolloutStore(db2), o, log);
        var resumed = await m2.ResumeInterruptedAsync(TimeSpan.FromSeconds(5), ct);
        if (resumed.Count != 1) return new FleetScenarioResult("gateway-restart", false, 0, bytes.Length, recovery.Elapsed.TotalSeconds, 0, o.Devices, 0,
            $"{resumed.Count} rollouts resumed from the SQLite file (expected 1)");
        var r2 = resumed[0];
        await m2.WaitAsync(r2.Id, ct).WaitAsync(o.Timeout, ct);
        int updated = await WaitAllUpdatedAsync(rig.Fleet, bytes, TimeSpan.FromSeconds(20), ct);
        double secs = recovery.Elapsed.TotalSeconds;
        var results = r2.PhaseResults;
        long resent = results.Sum(x => x.ResentBytes);
        long payload2 = results.Sum(x => x.GatewayPayloadBytes);
        bool completed = r2.State == RolloutStates.Completed && updated == o.Devices;
        return new FleetScenarioResult("gateway-restart", completed, resent, bytes.Length, secs, updated, o.Devices, payload2,
            $"rollout {r2.State}; before the kill the gateway published {payload1} bytes; after: {payload2} payload bytes, " +
            $"{results.Sum(x => x.DeliveriesSkipped)} deliveries skipped as held");
    }

    /// <summary>A gateway and the fleet on the rig, a rollout of a new image started, and the wait until the fleet
    /// holds FaultAt of it: where a fault scenario strikes.</summary>
    private static async Task<(GatewayNode Gateway, byte[] Bytes, FirmwareImage Image, Task<RolloutResult> Run)> RolloutUntilFaultAsync(
        Rig rig, FleetScenarioOptions o, Action<string>? log, CancellationToken ct, Func<int, int>? brokerPortFor = null)
    {
        var gw = NewGateway(rig, o, null, log);
        rig.Gateways.Add(gw);
        await gw.StartAsync(ct);
        await StartFleetAsync(rig, o, gw, log, ct, brokerPortFor);
        byte[] bytes = Image(o);
        var image = FirmwareImage.Create(bytes, new FirmwareVersion(2, 0, 0), rig.Signer, o.ChunkSize);
        // Devices cut off or rebooting come back: the rollout waits for them (up to its timeout) instead of ending without them.
        var run = gw.RunRolloutAsync(image, new RolloutOptions { Timeout = o.Timeout, OfflineWait = o.Timeout }, null, ct);
        await WaitForFractionAsync(rig.Fleet!, image.ChunkCount, o.FaultAt, o.Timeout, ct);
        return (gw, bytes, image, run);
    }

}
