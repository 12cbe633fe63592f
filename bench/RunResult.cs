namespace IotOta.Bench;

/// <summary>The figures of one strategy's run (real or simulated).</summary>
public sealed record RunResult
{
    public required string Strategy { get; init; }
    public required string Scenario { get; init; }
    public required string Mode { get; init; } // "real" or "simulated"
    public required int Devices { get; init; }
    public required int Groups { get; init; }
    public required int Completed { get; init; }
    /// <summary>Until the last device was updated (or the timeout).</summary>
    public required double Seconds { get; init; }
    public double MedianSeconds { get; init; }
    public double P99Seconds { get; init; }
    public required double BoundSeconds { get; init; }
    /// <summary>Seconds over the bound; null when not every device finished (a run that did not finish has no ratio)
    /// or there is no bound.</summary>
    public double? Ratio => BoundSeconds > 0 && Completed == Devices ? Math.Round(Seconds / BoundSeconds, 3) : null;
    public required long ImageBytes { get; init; }
    public required long GatewayBytes { get; init; }
    public double GatewayPerImage => ImageBytes > 0 ? Math.Round((double)GatewayBytes / ImageBytes, 3) : 0;
    public long BrokerBytes { get; init; }
    public long BrokerMessages { get; init; }
    public string BrokerCounting { get; init; } = "";
    /// <summary>All bytes the broker sent to and received from clients during the rollout, data apart from control
    /// (issue #15); null when not counted.</summary>
    public IotOta.Gateway.Mqtt.BrokerReport? BrokerTraffic { get; init; }
    public long[] DeviceUploadBytes { get; init; } = [0, 0, 0];
    /// <summary>CPU seconds of this process (gateway, virtual fleet, and the broker when embedded) during the rollout.</summary>
    public double CpuSeconds { get; init; }
    /// <summary>CPU seconds of the Mosquitto process during the rollout (0 with the embedded broker).</summary>
    public double BrokerCpuSeconds { get; init; }
    /// <summary>(CpuSeconds + BrokerCpuSeconds) / (rollout seconds × cores), in percent: near 100 the host, not the
    /// emulated links, sets the time.</summary>
    public double CpuPercent { get; init; }
    /// <summary>Busy share of all cores over the rollout from /proc/stat, every process on the machine included.</summary>
    public double HostBusyPercent { get; init; }
    public string Broker { get; init; } = "";
    /// <summary>This process's CPU over 2 s with the fleet online and idle, before the rollout, in % of all cores.</summary>
    public double IdleCpuPercent { get; init; }
    public long PeakRssBytes { get; init; }
    public double CoreAllocBytesPerMessage { get; init; }
    public bool TimedOut { get; init; }
    /// <summary>The most peer connections (in and out together) any device held at once, and the connections devices
    /// refused because their socket budget was busy (0 for simulated runs: no sockets).</summary>
    public int PeerConnectionsMax { get; init; }
    public long PeerConnectionsRefused { get; init; }
    /// <summary>Repair requests the devices sent to peers and to the gateway, and packets they received that they already
    /// held (a repair answer or copy that came twice), over the run (0 for simulated runs).</summary>
    public long PeerRepairRequests { get; init; }
    public long GatewayRepairRequests { get; init; }
    public long DuplicatePackets { get; init; }
    public double WallSeconds { get; init; }
    public string Note { get; init; } = "";
    /// <summary>Fleet worker processes (0: the fleet ran in the bench process).</summary>
    public int FleetWorkers { get; init; }
    /// <summary>Most open descriptors of the bench process, and of the fullest fleet worker, sampled once a second.</summary>
    public int PeakOpenFiles { get; init; }
    public int PeakWorkerOpenFiles { get; init; }
    public string CpuScope => FleetWorkers > 0
        ? $"bench process (gateway, broker uplink relay, and the broker when embedded) plus its {FleetWorkers} fleet worker processes"
        : "bench process (gateway, fleet, and the broker when embedded)";
    /// <summary>Per device completion times in seconds, sorted (NaN-free; devices not updated are left out).</summary>
    public double[] CompletionTimes { get; init; } = [];

    public static (double Median, double P99) Percentiles(IReadOnlyList<double> sorted, int devices)
    {
        // Over all devices: a device that never completed counts as +inf (so the p99 of an incomplete run is inf).
        double At(double q)
        {
            int i = Math.Min(devices - 1, (int)Math.Ceiling(q * devices) - 1);
            i = Math.Max(0, i);
            return i < sorted.Count ? sorted[i] : double.PositiveInfinity;
        }
        return (At(0.5), At(0.99));
    }
}
