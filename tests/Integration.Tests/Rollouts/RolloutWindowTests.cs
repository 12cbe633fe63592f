using IotOta.Gateway;
using IotOta.Gateway.Mqtt;
using IotOta.Simulation.Demo;
using IotOta.Gateway.Images;
using IotOta.Gateway.Rollouts;
using IotOta.Shared.Protocol;
using IotOta.TestSupport;
using IotOta.VirtualDevice.Host;
using IotOta.VirtualDevice.Platform;
using Xunit.Abstractions;

namespace IotOta.Integration.Tests.Rollouts;

/// <summary>A rollout with a window: devices offline at the start are pending (not failed), one that comes back is
/// updated, a device that joins a targeted group is added and updated, and at the window's end the rollout "ended with
/// 1 pending" — the one still offline, with when it was last seen. The health gate (no failure allowed) never counts
/// the pending devices.</summary>
[Collection("rollouts")]
public sealed class RolloutWindowTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Offline_devices_are_pending_a_returning_one_and_a_late_joiner_are_updated_and_the_window_ends_with_one_pending()
    {
        await using var rig = await RolloutRig.StartAsync();
        Task<VirtualFleet> Fleet(int n, int first) => VirtualFleet.StartAsync(n, 2, rig.Broker.Host, rig.Broker.Port, Path.Combine(rig.Dir.Path, "f" + first), rig.Verifier,
            firstNodeId: first, groupsByNodeId: true);
        await using var main = await Fleet(6, 1);    // nodes 1..6 in groups 1 and 2
        var away = await Fleet(1, 7);                 // node 7 (group 1): stays away
        var back = await Fleet(1, 8);                 // node 8 (group 2): comes back mid-window
        await rig.Gateway.WaitForDevicesAsync(8, TimeSpan.FromSeconds(30), CancellationToken.None);
        DateTimeOffset awaySince = DateTimeOffset.UtcNow;
        await away.DisposeAsync();
        await back.DisposeAsync();
        var until = DateTime.UtcNow.AddSeconds(10);
        while (rig.Gateway.Registry.Online().Count > 6 && DateTime.UtcNow < until) await Task.Delay(20);
        Assert.Equal(6, rig.Gateway.Registry.Online().Count);

        var bytes = new byte[256 * 1024];
        new Random(16).NextBytes(bytes);
        var image = FirmwareImage.Create(bytes, new FirmwareVersion(2, 0, 0), rig.Signer);
        var gate = new HealthGate(new HealthPolicy(MaxFailures: 0, InstallTimeout: TimeSpan.FromSeconds(3)), TimeProvider.System);
        var window = TimeSpan.FromSeconds(25);
        var snapshots = new List<RolloutSnapshot>();
        var run = rig.Gateway.RunRolloutAsync(image, new RolloutOptions { Window = window, Health = gate, ProgressInterval = TimeSpan.FromMilliseconds(200) },
            new SyncProgress(snapshots), CancellationToken.None);

        // A device that joins group 1 during the window (new node id, older version) is added.
        await using var joiner = await Fleet(1, 9);
        until = DateTime.UtcNow.AddSeconds(20);
        while (!main.Devices.Concat(joiner.Devices).All(d => d.Agent.State == DeviceState.Updated) && DateTime.UtcNow < until) await Task.Delay(50);
        Assert.False(run.IsCompleted, "the rollout ended although devices were pending");
        RolloutSnapshot mid;
        lock (snapshots) mid = snapshots[^1];
        Assert.Equal(2, mid.Pending);
        Assert.Equal(0, mid.Failed);

        // Node 8 comes back on its flash file: it is updated within the window.
        await using var returned = await Fleet(1, 8);
        var r = await run.WaitAsync(window + TimeSpan.FromSeconds(20));
        output.WriteLine($"updated {r.Updated}/{r.Devices}, failed {r.Failed}, pending {r.Pending}, outcome {r.Outcome}, {r.Seconds:0.0} s, " +
                         $"payload {r.GatewayPayloadBytes}, donor orders {r.DonorOrdersSent}");

        Assert.Equal(RolloutOutcome.EndedWithPending, r.Outcome);
        Assert.Equal(3, (int)r.Outcome);
        Assert.Equal(9, r.Devices); // 6 + the one that came back + the joiner + the one still away
        Assert.Equal(8, r.Updated);
        Assert.Equal(0, r.Failed);
        var pending = Assert.Single(r.PendingDevices);
        Assert.Equal(7u, pending.NodeId);
        Assert.Equal(1, pending.GroupId);
        Assert.InRange(pending.LastSeen, awaySince.AddSeconds(-5), awaySince.AddSeconds(5));
        Assert.True(r.Seconds >= window.TotalSeconds - 0.5, "the rollout must stay open for the whole window");
        Assert.Equal(0, r.Health!.FailedTotal); // pending devices are no failures
        Assert.True(returned.Devices.Single().Agent.State == DeviceState.Updated && DemoRunner.SlotMatches(returned.Devices.Single(), bytes));
        Assert.True(DemoRunner.SlotMatches(joiner.Devices.Single(), bytes));
    }

    private sealed class SyncProgress(List<RolloutSnapshot> into) : IProgress<RolloutSnapshot>
    {
        public void Report(RolloutSnapshot value)
        {
            lock (into) into.Add(value);
        }
    }
}
