using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace IotOta.Bench;

/// <summary>Markdown table, JSON object and PNG chart of a benchmark invocation.</summary>
public static class Report
{
    private static string F(double v, string fmt = "0.00") => double.IsInfinity(v) ? "∞" : v.ToString(fmt, CultureInfo.InvariantCulture);
    private static string MiB(long b) => (b / 1048576.0).ToString("0.00", CultureInfo.InvariantCulture);
    private static string KiB(long b) => (b / 1024.0).ToString("0", CultureInfo.InvariantCulture);

    public static string Markdown(BenchOptions o, IReadOnlyList<RunResult> runs)
    {
        var sb = new StringBuilder();
        var r0 = runs.FirstOrDefault();
        sb.AppendLine($"N = {o.Devices}, {(r0?.Groups ?? o.EffectiveGroups)} groups, scenario {o.Scenario}, image {KiB(o.ImageSize)} KiB in {o.ChunkSize} B packets, " +
            $"gateway up {o.GatewayUpKbps} kbps, device up/down {o.DeviceUpKbps}/{o.DeviceDownKbps} kbps (1 kbit = 1000 bit, links and bound alike), latency {o.LatencyMs} ms, seed {o.Seed}" +
            (o.Simulate ? " (simulated)" : $", broker {o.Broker} (uplink to the fleet {(o.EffectiveBrokerUpKbps > 0 ? o.EffectiveBrokerUpKbps + " kbps, shared" : "unlimited")}), {Environment.ProcessorCount} cores"));
        sb.AppendLine();
        sb.AppendLine("| strategy | mode | done | last s | median s | p99 s | bound s | ratio | gateway MiB (×image) | broker MiB | broker msgs | device upload KiB min/med/max | CPU s bench+broker | CPU % of cores | host busy % | peak RSS MiB | core alloc B/msg |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in runs)
        {
            sb.AppendLine($"| {r.Strategy} | {r.Mode} | {r.Completed}/{r.Devices}{(r.TimedOut ? " (timeout)" : "")} | {F(r.Seconds)} | {F(r.MedianSeconds)} | {F(r.P99Seconds)} | {F(r.BoundSeconds)} | {(r.Ratio is double ratio ? F(ratio) : "–")} | " +
                $"{MiB(r.GatewayBytes)} ({F(r.GatewayPerImage, "0.000")}) | {(r.BrokerBytes < 0 ? "n/a" : MiB(r.BrokerBytes))} | {(r.BrokerMessages < 0 ? "n/a" : r.BrokerMessages)} | " +
                $"{KiB(r.DeviceUploadBytes[0])}/{KiB(r.DeviceUploadBytes[1])}/{KiB(r.DeviceUploadBytes[2])} | {F(r.CpuSeconds, "0.0")}+{F(r.BrokerCpuSeconds, "0.0")} | {F(r.CpuPercent, "0")} | {F(r.HostBusyPercent, "0")} | {r.PeakRssBytes / 1048576} | {F(r.CoreAllocBytesPerMessage, "0.0")} |");
        }
        if (runs.Any(r => r.BrokerTraffic != null))
        {
            sb.AppendLine();
            sb.AppendLine("First network, counted at the broker during the rollout (issue #15 goal: sent ≤ 1.05 × image + 200 B per device):");
            sb.AppendLine();
            foreach (var r in runs.Where(r => r.BrokerTraffic != null))
                sb.AppendLine($"- {r.Strategy} ({r.Mode}): {r.BrokerTraffic!.Line()}");
        }
        if (runs.Any(r => r.Note.Length > 0 || r.FleetWorkers > 0))
        {
            sb.AppendLine();
            foreach (var r in runs.Where(r => r.Note.Length > 0 || r.FleetWorkers > 0))
            {
                var parts = new List<string>();
                if (r.Note.Length > 0) parts.Add(r.Note);
                if (r.Mode == "real") parts.Add($"peer connections: at most {r.PeerConnectionsMax} held by one device, {r.PeerConnectionsRefused} refused; " +
                    $"devices sent {r.PeerRepairRequests} repair requests to peers and {r.GatewayRepairRequests} to the gateway, received {r.DuplicatePackets} packets they held");
                if (r.FleetWorkers > 0)
                    parts.Add($"fleet in {r.FleetWorkers} worker processes (CPU s and peak RSS include them; peak open files: bench {r.PeakOpenFiles}, fullest worker {r.PeakWorkerOpenFiles}; idle fleet before the rollout {F(r.IdleCpuPercent, "0.0")} % of the cores)");
                sb.AppendLine($"- {r.Strategy}: {string.Join("; ", parts)}");
            }
        }
        return sb.ToString();
    }

    public static JsonObject Json(BenchOptions o, IReadOnlyList<RunResult> runs)
    {
        var arr = new JsonArray();
        foreach (var r in runs)
        {
            arr.Add(new JsonObject
            {
                ["strategy"] = r.Strategy, ["scenario"] = r.Scenario, ["mode"] = r.Mode, ["devices"] = r.Devices, ["groups"] = r.Groups,
                ["completed"] = r.Completed, ["seconds"] = r.Seconds, ["medianSeconds"] = Finite(r.MedianSeconds), ["p99Seconds"] = Finite(r.P99Seconds),
                ["boundSeconds"] = r.BoundSeconds, ["ratio"] = r.Ratio, ["peerConnectionsMax"] = r.PeerConnectionsMax, ["peerConnectionsRefused"] = r.PeerConnectionsRefused, ["peerRepairRequests"] = r.PeerRepairRequests, ["gatewayRepairRequests"] = r.GatewayRepairRequests, ["duplicatePackets"] = r.DuplicatePackets, ["imageBytes"] = r.ImageBytes, ["gatewayBytes"] = r.GatewayBytes,
                ["gatewayPerImage"] = r.GatewayPerImage, ["brokerBytes"] = r.BrokerBytes, ["brokerMessages"] = r.BrokerMessages,
                ["brokerCounting"] = r.BrokerCounting,
                ["brokerTraffic"] = r.BrokerTraffic == null ? null : JsonSerializer.SerializeToNode(r.BrokerTraffic, new JsonSerializerOptions(JsonSerializerDefaults.Web)), ["deviceUploadBytes"] = new JsonArray(r.DeviceUploadBytes.Select(x => (JsonNode)x).ToArray()),
                ["cpuSeconds"] = r.CpuSeconds, ["cpuScope"] = r.CpuScope,
                ["brokerCpuSeconds"] = r.BrokerCpuSeconds, ["cpuPercent"] = r.CpuPercent, ["hostBusyPercent"] = r.HostBusyPercent, ["idleCpuPercent"] = r.IdleCpuPercent, ["broker"] = r.Broker,
                ["peakRssBytes"] = r.PeakRssBytes, ["rssScope"] = r.FleetWorkers > 0 ? "bench process plus fleet workers, summed, sampled every 100 ms" : "process-wide, sampled every 100 ms",
                ["fleetWorkers"] = r.FleetWorkers, ["peakOpenFiles"] = r.PeakOpenFiles, ["peakWorkerOpenFiles"] = r.PeakWorkerOpenFiles,
                ["coreAllocBytesPerMessage"] = r.CoreAllocBytesPerMessage, ["timedOut"] = r.TimedOut, ["wallSeconds"] = r.WallSeconds, ["note"] = r.Note,
            });
        }
        return new JsonObject
        {
            ["scenario"] = o.Scenario, ["simulated"] = o.Simulate, ["imageBytes"] = o.ImageSize, ["chunkBytes"] = o.ChunkSize,
            ["cores"] = Environment.ProcessorCount, ["latencyMs"] = o.LatencyMs,
            ["gatewayUpKbps"] = o.GatewayUpKbps, ["brokerUpKbps"] = o.EffectiveBrokerUpKbps, ["deviceUpKbps"] = o.DeviceUpKbps, ["deviceDownKbps"] = o.DeviceDownKbps, ["seed"] = o.Seed,
            ["runs"] = arr,
        };
    }

    private static double? Finite(double v) => double.IsFinite(v) ? v : null;

    public static string JsonText(BenchOptions o, IReadOnlyList<RunResult> runs) =>
        Json(o, runs).ToJsonString(new JsonSerializerOptions { WriteIndented = true });

    /// <summary>Completion curves: devices updated over time, one line per strategy, the bound as a vertical line.</summary>
    public static void Png(string path, BenchOptions o, IReadOnlyList<RunResult> runs)
    {
        var plt = new ScottPlot.Plot();
        foreach (var r in runs)
        {
            var xs = new List<double> { 0 };
            var ys = new List<double> { 0 };
            for (int i = 0; i < r.CompletionTimes.Length; i++)
            {
                xs.Add(r.CompletionTimes[i]);
                ys.Add(100.0 * (i + 1) / r.Devices);
            }
            var s = plt.Add.ScatterLine(xs.ToArray(), ys.ToArray());
            s.LegendText = $"{r.Strategy} ({r.Mode})";
            s.ConnectStyle = ScottPlot.ConnectStyle.StepHorizontal;
        }
        if (runs.Count > 0)
        {
            var v = plt.Add.VerticalLine(runs[0].BoundSeconds);
            v.LegendText = "Kumar–Ross bound";
            v.LinePattern = ScottPlot.LinePattern.Dashed;
        }
        plt.Title($"Completion over time: N={o.Devices}, {o.Scenario}{(o.Simulate ? ", simulated" : "")}");
        plt.XLabel("seconds since rollout start");
        plt.YLabel("% of devices updated");
        plt.ShowLegend(ScottPlot.Alignment.LowerRight);
        plt.SavePng(path, 900, 500);
    }
}
