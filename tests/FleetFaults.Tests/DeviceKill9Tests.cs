using IotOta.FaultSuite.Fleet;
using Xunit.Abstractions;

namespace IotOta.FleetFaults.Tests;

/// <summary>`device-kill9` at CI size: 9 devices in three fleet processes (3 groups spanning them), a 192 KiB image,
/// the gateway's upload limited so that the SIGKILL lands mid-rollout. Processes B and C are killed at 40 %; B comes
/// back after 3 s, C only after A and B run the image: every device completes, the re-sent bytes stay within 5 % of the
/// image and the gateway's payload within 1.1 × image over the whole run.</summary>
public sealed class DeviceKill9Tests(ITestOutputHelper output)
{
    [Fact]
    public async Task Fleet_processes_killed_mid_rollout_catch_up_from_their_groups()
    {
        var o = new FleetScenarioOptions
        {
            Devices = 9,
            Groups = 3,
            ImageSize = 192 * 1024,
            GatewayUpBytesPerSecond = 150_000,
            FaultAt = 0.4,
            Timeout = TimeSpan.FromSeconds(120),
        };
        var r = await DeviceKill9Scenario.RunAsync(o, output.WriteLine, CancellationToken.None);
        output.WriteLine($"{r.Name}: completed={r.Completed} updated={r.Updated}/{r.Devices} resent={r.ResentBytes} image={r.ImageBytes} " +
                         $"payload={r.GatewayPayloadBytes} recovery={r.RecoverySeconds:0.00}s {r.Detail}");
        Assert.Contains("killed with SIGKILL (exit codes 137, 137)", r.Detail);
        Assert.True(r.Completed, r.Detail);
        Assert.Equal(r.Devices, r.Updated);
        Assert.NotNull(r.RecoveryPerDevice);
        Assert.Equal(6, r.RecoveryPerDevice!.Count); // every device of B and C came back and was timed
        Assert.True(r.ResentBytes <= r.ImageBytes * 0.05, $"re-sent {r.ResentBytes} of {r.ImageBytes}: {r.Detail}");
        Assert.True(r.GatewayPayloadBytes <= r.ImageBytes * 1.1, $"payload {r.GatewayPayloadBytes} of {r.ImageBytes}: {r.Detail}");
        Assert.True(r.Passed, r.Detail);
    }
}
