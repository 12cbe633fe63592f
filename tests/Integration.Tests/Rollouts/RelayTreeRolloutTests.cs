using IotOta.Gateway.Mqtt;
using IotOta.Simulation.Demo;
using IotOta.TestSupport;
using Xunit.Abstractions;

namespace IotOta.Integration.Tests.Rollouts;

/// <summary>
/// More groups than one original names (12 > 1 + 8): the gateway publishes the relay-tree tables, names 4 relays per
/// original, and the real device cores pass each packet down the trees over TCP — through a real Mosquitto.
/// </summary>
[Collection("rollouts")]
public sealed class RelayTreeRolloutTests(ITestOutputHelper output)
{
    private const int ImageSize = 256 * 1024;

    [Fact]
    public async Task Twelve_groups_get_every_packet_from_one_original()
    {
        await using var mosquitto = await MosquittoBroker.StartAsync();
        var s = await DemoRunner.RunAsync(new DemoOptions
        {
            Devices = 24,
            Groups = 12,
            ImageSize = ImageSize,
            Broker = $"{mosquitto.Host}:{mosquitto.Port}",
            CrossGroup = true,
            Timeout = TimeSpan.FromSeconds(90),
            Seed = 11,
        }, null, null, CancellationToken.None);
        output.WriteLine(System.Text.Json.JsonSerializer.Serialize(s));
        Assert.False(s.TimedOut);
        Assert.Equal(24, s.Updated);
        Assert.Equal(24, s.SlotsVerified);
        Assert.Equal(0, s.Failed);
        // Without trees 12 groups take two originals per packet (128); down the trees one (64), a few more only if
        // a notice timed out on a loaded machine.
        Assert.InRange(s.OriginalsSent, 64, 70);
        Assert.True(s.GatewayPayloadBytes <= 1.1 * ImageSize, $"gateway sent {s.GatewayPayloadBytes} bytes");
    }
}
