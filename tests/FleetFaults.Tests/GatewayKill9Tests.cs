using IotOta.FaultSuite.Fleet;
using Xunit.Abstractions;

namespace IotOta.FleetFaults.Tests;

/// <summary>The gateway as a separate process, SIGKILLed mid-rollout and started again on its SQLite file, at small
/// scale: 6 devices in 3 groups, a 160 KiB image, the gateway's upload limited so that the kill lands mid-rollout.</summary>
public sealed class GatewayKill9Tests(ITestOutputHelper output)
{
    [Fact]
    public async Task Gateway_process_killed_with_sigkill_mid_rollout_resumes_and_resends_at_most_one_percent()
    {
        var o = GatewayKill9Scenario.SmallOptions;
        var r = await GatewayKill9Scenario.RunAsync(o, output.WriteLine, CancellationToken.None);
        output.WriteLine($"{r.Name}: completed={r.Completed} updated={r.Updated}/{r.Devices} resent={r.ResentBytes} image={r.ImageBytes} " +
                         $"recovery={r.RecoverySeconds:0.00}s received={r.GatewayPayloadBytes} {r.Detail}");
        Assert.Equal("gateway-kill9", r.Name);
        Assert.True(r.Completed, r.Detail);
        Assert.Equal(r.Devices, r.Updated);
        // A real SIGKILL: the exit status of a process killed by signal 9.
        Assert.Contains("killed with SIGKILL (exit code 137)", r.Detail);
        Assert.Contains("rollout r1 completed", r.Detail);
        Assert.Contains("re-sent: 0 bytes held before the restart", r.Detail);
        Assert.True(r.ResentBytes <= r.ImageBytes / 100, $"resent {r.ResentBytes} of {r.ImageBytes}");
        // The new process sent what the fleet was missing, not the image again: something, and less than one image.
        Assert.InRange(r.GatewayPayloadBytes, 1, r.ImageBytes - 1);
    }
}
