using IotOta.FaultSuite.Fleet;
using Xunit.Abstractions;

namespace IotOta.FleetFaults.Tests;

/// <summary>`device-kill9` at CI size: 9 devices in three fleet processes (3 groups spanning them), the 1 MiB
/// image, the gateway's upload limited so that the SIGKILL lands mid-rollout. Processes B and C are killed at 40 %; B
/// comes back after 3 s, C only after A and B run the image: every device completes, C's catch-up costs the gateway at
/// most 5 % of the image (the donors are its group mates), and the whole run keeps the scenario's limits — re-sent
/// ≤ 5 % of the image, gateway payload ≤ 1.1 × image (what devices that left held is waited for or served by a group
/// mate, not sent again at once: RolloutScheduler.Departures).</summary>
public sealed class DeviceKill9Tests(ITestOutputHelper output)
{
    [Fact]
    public async Task Fleet_processes_killed_mid_rollout_catch_up_from_their_groups()
    {
        var o = new FleetScenarioOptions
        {
            Devices = 9,
            Groups = 3,
            ImageSize = 1024 * 1024,
            GatewayUpBytesPerSecond = 300_000,
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
        // The catch-up of the devices that came back after the rest had finished: from their group, not the gateway.
        Assert.NotNull(r.CatchUpPayloadBytes);
        Assert.True(r.CatchUpPayloadBytes <= r.ImageBytes * 0.05, $"catch-up cost the gateway {r.CatchUpPayloadBytes} of {r.ImageBytes}: {r.Detail}");
        Assert.Contains(" donor orders", r.Detail);
        Assert.DoesNotContain(" 0 donor orders", r.Detail);
        // The whole run's limits (re-sent ≤ 5 % of the image, payload ≤ 1.1 × image).
        output.WriteLine($"whole run: re-sent {100.0 * r.ResentBytes / r.ImageBytes:0.00} % of the image, payload {(double)r.GatewayPayloadBytes / r.ImageBytes:0.000} × image");
        Assert.True(r.ResentBytes <= r.ImageBytes * DeviceKill9Scenario.MaxResentFraction, $"re-sent {r.ResentBytes} of {r.ImageBytes}: {r.Detail}");
        Assert.True(r.GatewayPayloadBytes <= r.ImageBytes * DeviceKill9Scenario.MaxPayloadRatio, $"gateway payload {r.GatewayPayloadBytes} of {r.ImageBytes}: {r.Detail}");
        Assert.True(r.Passed, r.Detail);
    }
}
