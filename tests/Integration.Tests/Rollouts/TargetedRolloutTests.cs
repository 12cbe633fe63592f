using IotOta.Gateway;
using IotOta.Gateway.Mqtt;
using IotOta.Simulation.Demo;
using IotOta.Gateway.Images;
using IotOta.Gateway.Rollouts;
using IotOta.Shared.Protocol;
using IotOta.TestSupport;
using IotOta.VirtualDevice.Host;
using IotOta.VirtualDevice.Platform;
using MQTTnet;

namespace IotOta.Integration.Tests.Rollouts;

/// <summary>A rollout reaches only the groups it targets (each group has its own retained manifest topic), and an
/// aborted rollout takes its manifest back.</summary>
[Collection("rollouts")]
public sealed class TargetedRolloutTests
{
    [Fact]
    public async Task Only_targeted_groups_see_the_manifest_and_an_abort_clears_it()
    {
        await using var rig = await RolloutRig.StartAsync();
        await using var fleet = await VirtualFleet.StartAsync(6, 2, rig.Broker.Host, rig.Broker.Port, rig.Dir.Path, rig.Verifier);
        await rig.Gateway.WaitForDevicesAsync(6, TimeSpan.FromSeconds(30), CancellationToken.None);

        var bytes = new byte[64 * 1024];
        new Random(5).NextBytes(bytes);
        var image = FirmwareImage.Create(bytes, new FirmwareVersion(2, 0, 0), rig.Signer);
        var r = await rig.Gateway.RunRolloutAsync(image, new RolloutOptions { Targets = (_, g) => g == 1, Timeout = TimeSpan.FromSeconds(60) }, null, CancellationToken.None);

        Assert.Equal(3, r.Devices);
        Assert.Equal(3, r.Updated);
        foreach (var d in fleet.Devices)
        {
            if (d.GroupId == 1)
            {
                Assert.True(d.Agent.RunningVersion.SameAs(image.Version));
                Assert.True(DemoRunner.SlotMatches(d, bytes));
            }
            else
            {
                Assert.True(d.Agent.RunningVersion.SameAs(new FirmwareVersion(1, 0, 0)));
                Assert.Equal(0u, d.Agent.CurrentImageId); // never saw the manifest
            }
        }

        // Abort a second rollout (to group 2) at once: its retained manifest must be gone afterwards.
        var big = new byte[1024 * 1024];
        new Random(6).NextBytes(big);
        var image3 = FirmwareImage.Create(big, new FirmwareVersion(3, 0, 0), rig.Signer);
        using var cts = new CancellationTokenSource();
        var run = rig.Gateway.RunRolloutAsync(image3, new RolloutOptions { Targets = (_, g) => g == 2 }, null, cts.Token);
        var until = DateTime.UtcNow.AddSeconds(10);
        while ((rig.Gateway.CurrentRollout is not { } engine || !engine.Pause()) && DateTime.UtcNow < until) await Task.Delay(1); // hold it
        Assert.False(run.IsCompleted, "the rollout to abort finished before it could be paused");
        await Task.Delay(200);
        Assert.NotNull(await RetainedAsync(rig.Broker, Topics.GroupManifest(2)));
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Assert.Null(await RetainedAsync(rig.Broker, Topics.GroupManifest(2)));
        Assert.NotNull(await RetainedAsync(rig.Broker, Topics.GroupManifest(1))); // the finished rollout's stays for late joiners
    }

    private static async Task<byte[]?> RetainedAsync(EmbeddedBroker broker, string topic)
    {
        using var client = new MqttClientFactory().CreateMqttClient();
        byte[]? got = null;
        client.ApplicationMessageReceivedAsync += e =>
        {
            if (e.ApplicationMessage.Payload.Length > 0) got = System.Buffers.BuffersExtensions.ToArray(e.ApplicationMessage.Payload);
            return Task.CompletedTask;
        };
        await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(broker.Host, broker.Port).Build());
        await client.SubscribeAsync(topic);
        await Task.Delay(300);
        return got;
    }
}
