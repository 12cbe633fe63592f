using System.Diagnostics;
using IotOta.Gateway.Mqtt;
using IotOta.Gateway;
using IotOta.Gateway.Api;
using IotOta.Gateway.Rollouts;
using IotOta.Gateway.Images;
using IotOta.Gateway.Scheduling;
using IotOta.Shared.Protocol;
using IotOta.TestSupport;
using IotOta.VirtualDevice.Host;
using IotOta.VirtualDevice.Network;
using IotOta.VirtualDevice.Platform;
using Xunit.Abstractions;

namespace IotOta.FleetFaults.Tests;

/// <summary>Health gates end to end against a real Mosquitto: 6 virtual devices in 3 groups, a canary of 2 devices (one
/// from each of the first two groups), then 50 % and 100 %. Device 1, a canary, fails the self-test of the new image
/// and rolls back: the failure threshold pauses the rollout by itself, in the canary phase, before any other device
/// got the manifest.</summary>
public sealed class RolloutHealthTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);

    private sealed class Rig : IAsyncDisposable
    {
        public required MosquittoBroker Broker;
        public required TempDir Dir;
        public required ManifestSigner Signer;
        public required GatewayNode Gateway;
        public required VirtualFleet Fleet;
        public required RolloutManager Manager;

        public async ValueTask DisposeAsync()
        {
            await Fleet.DisposeAsync();
            await Gateway.DisposeAsync();
            await Broker.DisposeAsync();
            Signer.Dispose();
            Dir.Dispose();
        }
    }

    private static async Task<Rig> StartAsync()
    {
        var broker = await MosquittoBroker.StartAsync();
        var dir = new TempDir("iotota-health");
        var signer = ManifestSigner.Generate();
        var gw = MqttGatewayNode.Create(broker.Host, broker.Port, pace: new TokenBucket(400_000, 16 * 1024).ConsumeAsync);
        await gw.StartAsync(CancellationToken.None);
        var verifier = new EcdsaSignatureVerifier();
        verifier.Add(signer.KeyId, signer.PublicKey());
        var fleet = await VirtualFleet.StartAsync(6, 3, broker.Host, broker.Port, dir.Path, verifier, null, new FirmwareVersion(1, 0, 0), null);
        await gw.WaitForDevicesAsync(6, TimeSpan.FromSeconds(60), CancellationToken.None);
        var manager = new RolloutManager(gw, signer, new InMemoryImageStore(), new InMemoryRolloutStore(),
            new RolloutManagerOptions { ChunkSize = 4096, Scheduler = new SchedulerOptions() });
        return new Rig { Broker = broker, Dir = dir, Signer = signer, Gateway = gw, Fleet = fleet, Manager = manager };
    }

    private static StoredImage Upload(RolloutManager m)
    {
        var bytes = new byte[96 * 1024];
        new Random(6).NextBytes(bytes);
        return m.AddImage(bytes, "2.0.0", null, "fw.bin");
    }

    private static async Task WaitForStateAsync(Rollout r, string state)
    {
        var sw = Stopwatch.StartNew();
        while (r.State != state && !RolloutStates.IsTerminal(r.State) && sw.Elapsed < Wait) await Task.Delay(50);
        Assert.True(r.State == state, $"rollout is {r.State} ({r.Message}), expected {state}");
    }

    [Fact]
    public async Task A_canary_that_rolls_back_pauses_the_rollout_and_resume_finishes_the_rest()
    {
        await using var rig = await StartAsync();
        var failing = rig.Fleet.Devices.Single(d => d.NodeId == 1);
        failing.FailSelfTest = true;
        var img = Upload(rig.Manager);
        // Threshold 1.0: the canary cannot pass before device 1 has decided, so the pause lands in the canary phase.
        var r = rig.Manager.Create(new CreateRolloutRequest(img.Id, CanaryCount: 2, Percentages: [50, 100], SuccessThreshold: 1.0, MaxFailures: 0,
            TimeoutSeconds: 120));
        rig.Manager.Start(r.Id);
        Assert.Equal([1u, 2u], r.PhasePlan[0].Devices);
        Assert.Equal(3, r.PhasePlan.Count);

        await WaitForStateAsync(r, RolloutStates.Paused);
        output.WriteLine($"paused: {r.Message}");
        Assert.StartsWith("paused by the health gate: 1 device(s) failed (1)", r.Message);
        Assert.Equal(0, r.Phase);
        var view = rig.Manager.View(r);
        Assert.Equal(RolloutStates.Paused, view.State);
        Assert.NotNull(view.Snapshot?.PauseReason);
        Assert.Equal([1u], r.Health!.FailedDevices);
        // Device 1 is back on its previous image; devices outside the canary never heard of the new one.
        Assert.Equal(DeviceState.RolledBack, failing.Agent.State);
        Assert.Equal("1.0.0", failing.Agent.RunningVersion.ToString());
        foreach (var d in rig.Fleet.Devices.Where(d => d.NodeId > 2))
        {
            Assert.Equal(DeviceState.Idle, d.Agent.State);
            Assert.Equal(0, d.Agent.HeldCount);
        }

        // The operator looked and resumes: that failure is acknowledged and written off, the canary passes on its
        // other device, the rest follow.
        rig.Manager.Resume(r.Id);
        await rig.Manager.WaitAsync(r.Id).WaitAsync(Wait);
        output.WriteLine($"ended: {r.State} {r.Message}");
        Assert.Equal(RolloutStates.Completed, r.State);
        Assert.Equal(2, r.Phase);
        foreach (var d in rig.Fleet.Devices.Where(d => d.NodeId != 1))
        {
            Assert.Equal(DeviceState.Updated, d.Agent.State);
            Assert.Equal("2.0.0", d.Agent.RunningVersion.ToString());
        }
        Assert.Equal("1.0.0", failing.Agent.RunningVersion.ToString());
    }

    [Fact]
    public async Task A_rollout_paused_by_its_gate_can_be_aborted()
    {
        await using var rig = await StartAsync();
        rig.Fleet.Devices.Single(d => d.NodeId == 2).FailSelfTest = true;
        var img = Upload(rig.Manager);
        var r = rig.Manager.Create(new CreateRolloutRequest(img.Id, CanaryDevices: [2], TimeoutSeconds: 120));
        rig.Manager.Start(r.Id);
        await WaitForStateAsync(r, RolloutStates.Paused);
        Assert.Contains("failed (2)", r.Message);
        rig.Manager.Abort(r.Id);
        await rig.Manager.WaitAsync(r.Id).WaitAsync(Wait);
        Assert.Equal(RolloutStates.Aborted, r.State);
        Assert.All(rig.Fleet.Devices, d => Assert.Equal("1.0.0", d.Agent.RunningVersion.ToString()));
    }
}
