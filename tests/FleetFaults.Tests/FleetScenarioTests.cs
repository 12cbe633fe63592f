using IotOta.FaultSuite.Fleet;
using Xunit.Abstractions;

namespace IotOta.FleetFaults.Tests;

/// <summary>Each fleet fault scenario at small scale against a real Mosquitto: 6 devices in 3 groups, a 160 KiB image,
/// the gateway's upload limited so that the fault lands mid-rollout.</summary>
public sealed class FleetScenarioTests(ITestOutputHelper output)
{
    private static readonly FleetScenarioOptions Small = new()
    {
        Devices = 6,
        Groups = 3,
        ImageSize = 160 * 1024,
        GatewayUpBytesPerSecond = 200_000,
        FaultAt = 0.4,
        BrokerDown = TimeSpan.FromSeconds(1),
        Timeout = TimeSpan.FromSeconds(60),
    };

    private void Print(FleetScenarioResult r) =>
        output.WriteLine($"{r.Name}: completed={r.Completed} updated={r.Updated}/{r.Devices} resent={r.ResentBytes} image={r.ImageBytes} " +
                         $"recovery={r.RecoverySeconds:0.00}s payload={r.GatewayPayloadBytes} {r.Detail}");

    [Fact]
    public async Task Gateway_killed_mid_rollout_resumes_from_sqlite_and_resends_at_most_one_percent()
    {
        var r = await FleetFaultSuite.GatewayRestartAsync(Small, output.WriteLine, CancellationToken.None);
        Print(r);
        Assert.True(r.Completed, r.Detail);
        Assert.Equal(r.Devices, r.Updated);
        Assert.True(r.ResentBytes <= r.ImageBytes / 100, $"resent {r.ResentBytes} of {r.ImageBytes}");
        // The new gateway skipped what the fleet held: it sent clearly less than a whole image.
        Assert.True(r.GatewayPayloadBytes < r.ImageBytes, $"after the restart the gateway sent {r.GatewayPayloadBytes} bytes of a {r.ImageBytes}-byte image");
        Assert.Contains("deliveries skipped", r.Detail);
    }

    [Fact]
    public async Task Broker_restart_mid_rollout_completes_and_retained_messages_are_published_again()
    {
        var r = await FleetFaultSuite.BrokerRestartAsync(Small, output.WriteLine, CancellationToken.None);
        Print(r);
        Assert.True(r.Completed, r.Detail);
        Assert.Equal(r.Devices, r.Updated);
        Assert.Contains($"retained after restart: {Small.Groups}/{Small.Groups} manifests, {Small.Groups}/{Small.Groups} member lists", r.Detail);
        Assert.Matches(@"gateway reconnects [1-9]", r.Detail);
        // Packets delivered just before the broker died are not sent again: the gateway waits for the devices'
        // reports after reconnecting and does not answer repairs of packets still on their way.
        Assert.True(r.ResentBytes <= r.ImageBytes / 100, $"resent {r.ResentBytes} of {r.ImageBytes}");
    }

    [Fact]
    public async Task Group_cut_off_from_the_broker_for_a_while_completes_after_the_heal()
    {
        var r = await FleetFaultSuite.PartitionAsync(Small with { Partition = TimeSpan.FromSeconds(4) }, output.WriteLine, CancellationToken.None);
        Print(r);
        Assert.True(r.Completed, r.Detail);
        Assert.Equal(r.Devices, r.Updated);
        // The cut was real: the broker published the group's wills and its reconnects were refused until the heal.
        Assert.Contains("2/2 seen offline", r.Detail);
        Assert.DoesNotContain(" 0 reconnects refused", r.Detail);
        // The issue asks a partition only to complete after the heal. Re-sends are bounded loosely here: at this scale one
        // packet is 2.5 % of the image, and one clean-clone run (of many) re-sent 9 packets (22 %) to the healed group
        // while its devices were also filling the same gaps from their peers (cause not pinned down; the 30-device run
        // in the README re-sends none). Far more than that means the gateway is resending what the group held.
        Assert.True(r.ResentBytes <= r.ImageBytes / 3, $"resent {r.ResentBytes} of {r.ImageBytes}");
    }

    [Fact]
    public async Task A_device_never_seen_before_that_joins_mid_rollout_gets_the_image()
    {
        var r = await FleetFaultSuite.LateJoinAsync(Small, output.WriteLine, CancellationToken.None);
        Print(r);
        Assert.True(r.Completed, r.Detail);
        Assert.Equal(7, r.Devices);
        Assert.Equal(7, r.Updated);
        Assert.StartsWith("1 new device(s) joined mid-rollout (before it ended; on the destination list: True), 1/1 of them updated; the rollout counted 7/7", r.Detail);
    }

    [Fact]
    public async Task Ten_percent_churn_mid_rollout_completes()
    {
        var r = await FleetFaultSuite.ChurnAsync(Small with { Devices = 10, ChurnFraction = 0.1 }, output.WriteLine, CancellationToken.None);
        Print(r);
        Assert.True(r.Completed, r.Detail);
        Assert.Equal(10, r.Updated);
        Assert.StartsWith("1 device(s) left", r.Detail);
    }
}
