using IotOta.Gateway.Mqtt;
using IotOta.Simulation.Demo;
using Xunit.Abstractions;

namespace IotOta.Integration.Tests.Rollouts;

/// <summary>Devices that leave mid-rollout lose their share to the others, and the rollout still completes.</summary>
[Collection("rollouts")]
public sealed class ChurnRolloutTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Devices_that_leave_mid_rollout_do_not_stop_it()
    {
        var options = new DemoOptions
        {
            Devices = 12,
            Groups = 2,
            ImageSize = 512 * 1024,
            DeviceUpKbps = 4000,
            DeviceDownKbps = 16000,
            GatewayUpKbps = 8000,
            Timeout = TimeSpan.FromSeconds(90),
            Seed = 3,
        };
        var leaving = new uint[] { 2, 5 };
        var s = await DemoRunner.RunAsync(options, null, output.WriteLine, async (fleet, gateway) =>
        {
            // Wait until the rollout is under way and the leavers hold work, then power them off.
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (DateTime.UtcNow < deadline)
            {
                var loads = gateway.CurrentRollout?.Scheduler.Loads();
                if (loads != null && loads.Where(l => leaving.Contains(l.NodeId)).Sum(l => l.InFlight) > 0) break;
                await Task.Delay(10);
            }
            foreach (var d in fleet.Devices.Where(d => leaving.Contains(d.NodeId))) await d.DisposeAsync();
        }, CancellationToken.None);
        output.WriteLine(System.Text.Json.JsonSerializer.Serialize(s));
        Assert.False(s.TimedOut);
        Assert.Equal(10, s.Updated);
        Assert.Equal(10, s.SlotsVerified);
        Assert.True(s.Reallocations > 0, "the leavers' work must have been planned again");
        Assert.True(s.GatewayPayloadBytes <= 1.1 * 2 * s.ImageBytes, $"gateway sent {s.GatewayPayloadBytes}");
    }
}
