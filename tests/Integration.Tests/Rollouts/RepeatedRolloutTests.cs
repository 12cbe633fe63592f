using IotOta.Gateway;
using IotOta.Gateway.Mqtt;
using IotOta.Simulation.Demo;
using IotOta.Gateway.Images;
using IotOta.Gateway.Rollouts;
using IotOta.Shared.Protocol;
using IotOta.TestSupport;
using IotOta.VirtualDevice.Host;
using IotOta.VirtualDevice.Network;
using IotOta.VirtualDevice.Platform;
using Xunit.Abstractions;

namespace IotOta.Integration.Tests.Rollouts;

/// <summary>Devices restart after every install; each later rollout must still be carried by the fleet's own links
/// (a restarted core gets its group's member list again), with no repairs from the gateway.</summary>
[Collection("rollouts")]
public sealed class RepeatedRolloutTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Every_rollout_on_the_same_fleet_sends_each_packet_once()
    {
        await using var rig = await RolloutRig.StartAsync(pace: new TokenBucket(500_000, 16384).ConsumeAsync);
        var link = new LinkProfile(1_000_000, 2_000_000, TimeSpan.Zero, 0);
        await using var fleet = await VirtualFleet.StartAsync(6, 3, rig.Broker.Host, rig.Broker.Port, rig.Dir.Path, rig.Verifier, _ => link);
        await rig.Gateway.WaitForDevicesAsync(6, TimeSpan.FromSeconds(30), CancellationToken.None);
        for (int i = 0; i < 3; i++)
        {
            var bytes = new byte[64 * 1024];
            new Random(i).NextBytes(bytes);
            var image = FirmwareImage.Create(bytes, new FirmwareVersion(2, 0, i), rig.Signer);
            var r = await rig.Gateway.RunRolloutAsync(image, new RolloutOptions { Timeout = TimeSpan.FromSeconds(60) }, null, CancellationToken.None);
            output.WriteLine($"run {i}: updated {r.Updated}/{r.Devices}, gateway {r.GatewayPayloadBytes / (double)bytes.Length:0.00} × image, " +
                $"{r.OriginalsSent} originals, {r.RelaysNamed} relays, {r.RepairCopiesSent} repairs, {r.Reallocations} re-planned, {r.Seconds:0.00} s");
            Assert.Equal(6, r.Updated);
            Assert.Equal(0, r.RepairCopiesSent);
            Assert.Equal(bytes.Length, r.GatewayPayloadBytes);
            Assert.All(fleet.Devices, d => Assert.True(DemoRunner.SlotMatches(d, bytes)));
            var until = DateTime.UtcNow.AddSeconds(10); // a core that just restarted gets its member list a moment later
            while (fleet.Devices.Any(d => d.Agent.MemberCount != 2) && DateTime.UtcNow < until) await Task.Delay(20);
            Assert.All(fleet.Devices, d => Assert.Equal(2, d.Agent.MemberCount));
        }
    }
}
