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

    /// <summary>A demo rollout of two devices per group through a real Mosquitto; every device updated and verified.</summary>
    private async Task<DemoSummary> TwoPerGroupAsync(int groups, int seed, TimeSpan timeout)
    {
        await using var mosquitto = await MosquittoBroker.StartAsync();
        var s = await DemoRunner.RunAsync(new DemoOptions
        {
            Devices = 2 * groups,
            Groups = groups,
            ImageSize = ImageSize,
            Broker = $"{mosquitto.Host}:{mosquitto.Port}",
            CrossGroup = true,
            Timeout = timeout,
            Seed = seed,
        }, null, null, CancellationToken.None);
        output.WriteLine(System.Text.Json.JsonSerializer.Serialize(s));
        Assert.False(s.TimedOut);
        Assert.Equal(2 * groups, s.Updated);
        Assert.Equal(2 * groups, s.SlotsVerified);
        Assert.Equal(0, s.Failed);
        return s;
    }

    [Fact]
    public async Task Twelve_groups_get_every_packet_from_one_original()
    {
        var s = await TwoPerGroupAsync(12, seed: 11, TimeSpan.FromSeconds(90));
        // Without trees 12 groups take two originals per packet (128); down the trees one (64), a few more only if
        // a notice timed out on a loaded machine.
        Assert.InRange(s.OriginalsSent, 64, 70);
        Assert.True(s.GatewayPayloadBytes <= 1.1 * ImageSize, $"gateway sent {s.GatewayPayloadBytes} bytes");
    }

    [Fact]
    public async Task Twenty_six_groups_pass_packets_on_below_level_1_from_each_relays_own_table()
    {
        // 26 groups: position 5 of each of the 3 trees has a child, so three groups relay from per-device tables sent
        // on their members' in-topics (RelayTableSplit), the rest from their group's retained table.
        var s = await TwoPerGroupAsync(26, seed: 12, TimeSpan.FromSeconds(120));
        Assert.InRange(s.OriginalsSent, 64, 70);
        // Every packet passed on at every tree position with children (1 .. 6): positions 5 and 6 from their own
        // tables. Without those (their subtrees then get the packets by repair, and the rollout still ends) 64 × 4.
        Assert.True(s.TreeRelays >= 64 * 6, $"{s.TreeRelays} relay copies passed on down the trees, expected at least {64 * 6}");
        Assert.True(s.GatewayPayloadBytes <= 1.1 * ImageSize, $"gateway sent {s.GatewayPayloadBytes} bytes");
    }
}
