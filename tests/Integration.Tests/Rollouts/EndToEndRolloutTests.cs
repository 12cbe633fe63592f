using IotOta.Simulation.Security;
using IotOta.Gateway.Mqtt;
using IotOta.Simulation.Demo;
using IotOta.TestSupport;
using Xunit.Abstractions;

namespace IotOta.Integration.Tests.Rollouts;

/// <summary>
/// The whole path: gateway → MQTT broker → 20 virtual devices in 4 groups that cross-copy over TCP, flash, verify,
/// switch slots, restart and report. Run against a real Mosquitto (with per-device credentials and the generated ACL)
/// and against the embedded MQTTnet broker (open).
/// </summary>
[Collection("rollouts")]
public sealed class EndToEndRolloutTests(ITestOutputHelper output)
{
    private const int ImageSize = 256 * 1024;

    private static DemoOptions Fleet(string? broker, bool crossGroup, IotOta.Simulation.Security.FleetProvisioning? provisioning = null) => new()
    {
        Provisioning = provisioning,
        Devices = 20,
        Groups = 4,
        ImageSize = ImageSize,
        Broker = broker,
        CrossGroup = crossGroup,
        Timeout = TimeSpan.FromSeconds(90),
        Seed = 7,
    };

    private void AssertRollout(DemoSummary s, int groups)
    {
        output.WriteLine(System.Text.Json.JsonSerializer.Serialize(s));
        Assert.False(s.TimedOut);
        Assert.Equal(20, s.Updated);
        Assert.Equal(0, s.Failed);
        Assert.Equal(20, s.SlotsVerified);
        Assert.Equal(ImageSize, s.ImageBytes);
        Assert.True(s.GatewayPayloadBytes <= 1.1 * ImageSize * groups, $"gateway sent {s.GatewayPayloadBytes} bytes");
        Assert.True(s.GatewayPayloadBytes >= ImageSize, "the gateway must send every packet at least once");
        Assert.True(s.PeerPayloadBytes > 0, "devices must have copied to peers");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Rollout_through_mosquitto_updates_every_device(bool crossGroup)
    {
        // Per-device credentials and the topic ACL on, as in production: Mosquitto gets the generated files.
        using var p = IotOta.Simulation.Security.FleetProvisioning.Create(20, 4);
        await using var mosquitto = await MosquittoBroker.StartAsync(Security.SecureRolloutTests.MosquittoFiles(p));
        var s = await DemoRunner.RunAsync(Fleet($"{mosquitto.Host}:{mosquitto.Port}", crossGroup, p), null, null, CancellationToken.None);
        AssertRollout(s, 4);
        if (crossGroup) Assert.True(s.GatewayPayloadBytes <= 1.1 * ImageSize, $"cross-group: gateway sent {s.GatewayPayloadBytes} bytes");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Rollout_through_embedded_broker_updates_every_device(bool crossGroup)
    {
        var s = await DemoRunner.RunAsync(Fleet(null, crossGroup), null, null, CancellationToken.None);
        AssertRollout(s, 4);
        // 64 packets of 4 KiB: per group one original each (a few more only if a notice timed out).
        long expected = crossGroup ? 64 : 4 * 64;
        Assert.InRange(s.OriginalsSent, expected, (long)(expected * 1.1));
    }
}
