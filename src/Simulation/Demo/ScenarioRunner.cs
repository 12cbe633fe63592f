using IotOta.VirtualDevice.Host;

namespace IotOta.Simulation.Demo;

/// <summary>One expectation of a scenario and whether it held.</summary>
public sealed record ScenarioCheck(string Name, bool Passed, string Detail);

/// <summary>A scenario's outcome: the demo's figures, the faults injected, and the checks.</summary>
public sealed record ScenarioResult(string Scenario, bool Passed, IReadOnlyList<string> Faults, IReadOnlyList<ScenarioCheck> Checks, DemoSummary Summary);

/// <summary>
/// Runs a <see cref="Scenario"/> against virtual devices: the demo's embedded broker, gateway and fleet with the
/// scenario's shape, boards and links; each fault strikes when the fleet holds its share of the packets; at the end
/// the expectations are checked (every device updated unless minUpdated says otherwise, no heap budget exceeded,
/// gateway payload and staging high-water within bounds).
/// </summary>
public static class ScenarioRunner
{
    public static async Task<ScenarioResult> RunAsync(Scenario s, Action<string>? log, CancellationToken ct)
    {
        var applied = new List<string>();
        DemoSummary summary = await DemoRunner.RunAsync(s.ToDemoOptions(), null, log, async (fleet, _) =>
        {
            foreach (var f in s.Faults.OrderBy(f => f.AtPercent))
            {
                if (!await WaitForShareAsync(fleet, f.AtPercent / 100.0, TimeSpan.FromSeconds(s.TimeoutSeconds), ct))
                {
                    applied.Add($"{f.Kind} of {string.Join(", ", f.Devices)}: not applied, the fleet never held {f.AtPercent} % of the packets");
                    continue;
                }
                log?.Invoke($"scenario: {f.Kind} of devices {string.Join(", ", f.Devices)} at {f.AtPercent} % for {f.OffSeconds} s");
                await Task.WhenAll(f.Devices.Select(d => fleet.RestartDeviceAsync(d - 1, TimeSpan.FromSeconds(f.OffSeconds), ct)));
                applied.Add($"{f.Kind} of {string.Join(", ", f.Devices)} at {f.AtPercent} % for {f.OffSeconds} s");
            }
        }, ct);
        var checks = Check(s, summary);
        return new ScenarioResult(s.Name, checks.All(c => c.Passed), applied, checks, summary);
    }

    /// <summary>The scenario's expectations against a run's figures.</summary>
    public static List<ScenarioCheck> Check(Scenario s, DemoSummary r)
    {
        int want = s.Expect.MinUpdated ?? s.Devices;
        var checks = new List<ScenarioCheck>
        {
            new("updated", r.Updated >= want && !r.TimedOut, $"{r.Updated} of {r.Devices} updated (at least {want}){(r.TimedOut ? ", timed out" : "")}"),
            new("heap budgets", r.Errors.Count == 0, r.Errors.Count == 0 ? "every device core within its board's budget" : string.Join("; ", r.Errors)),
        };
        if (s.Expect.MaxGatewayPerImage is double g)
            checks.Add(new("gateway payload", r.GatewayPayloadPerImage <= g, $"{r.GatewayPayloadPerImage:0.000} × image (at most {g})"));
        if (s.Expect.MaxStagingFraction is double f)
        {
            foreach (var b in r.Boards.Where(b => b.StagingCapacity > 0))
            {
                double used = (double)b.StagingHighWater / b.StagingCapacity;
                checks.Add(new($"staging {b.Board}", used <= f, $"high-water {b.StagingHighWater} of {b.StagingCapacity} ({used:P0}; at most {f:P0})"));
            }
        }
        return checks;
    }

    private static async Task<bool> WaitForShareAsync(VirtualFleet fleet, double share, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var live = fleet.Devices.Where(d => !d.IsStopped).ToList();
            int chunks = live.Count == 0 ? 0 : live.Max(d => d.Agent.ChunkCount);
            if (chunks > 0)
            {
                long held = live.Sum(d => (long)d.Agent.HeldCount);
                if (held >= share * fleet.Devices.Count * chunks) return true;
            }
            await Task.Delay(20, ct);
        }
        return false;
    }
}
