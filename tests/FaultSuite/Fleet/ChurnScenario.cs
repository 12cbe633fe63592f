using System.Diagnostics;
using IotOta.Gateway.Rollouts;
using IotOta.Shared.Protocol;
using IotOta.TestSupport;
using MQTTnet;

namespace IotOta.FaultSuite.Fleet;

public static partial class FleetFaultSuite
{
    /// <summary>A seeded tenth of the devices (at least one) power off mid-rollout and come back after ChurnOff.</summary>
    public static async Task<FleetScenarioResult> ChurnAsync(FleetScenarioOptions o, Action<string>? log, CancellationToken ct)
    {
        await using var rig = await StartRigAsync(o, log, ct);
        var (gw, bytes, image, run) = await RolloutUntilFaultAsync(rig, o, log, ct);
        int n = Math.Max(1, (int)Math.Round(o.Devices * o.ChurnFraction));
        var rng = new Random(o.Seed);
        var leaving = Enumerable.Range(0, o.Devices).OrderBy(_ => rng.Next()).Take(n).ToList();
        await Task.WhenAll(leaving.Select(i => rig.Fleet!.RestartDeviceAsync(i, o.ChurnOff, ct)));
        var recovery = Stopwatch.StartNew();
        var result = await run;
        int updated = await WaitAllUpdatedAsync(rig.Fleet!, bytes, TimeSpan.FromSeconds(30), ct);
        double secs = recovery.Elapsed.TotalSeconds;
        bool completed = !result.TimedOut && updated == o.Devices;
        return new FleetScenarioResult("churn", completed, result.ResentBytes, bytes.Length, secs, updated, o.Devices, result.GatewayPayloadBytes,
            $"{n} device(s) left for {o.ChurnOff.TotalSeconds:0.#} s and came back; {result.Reallocations} reallocations");
    }
}
