namespace IotOta.Simulation.Demo;

/// <summary>The demo's closing figures (also its --json output).</summary>
public sealed record DemoSummary
{
    public required int Devices { get; init; }
    public required int Groups { get; init; }
    public required int Updated { get; init; }
    public required int Failed { get; init; }
    public required long ImageBytes { get; init; }
    public required long GatewayPayloadBytes { get; init; }
    /// <summary>Devices whose active flash slot holds the image byte for byte after the rollout.</summary>
    public required int SlotsVerified { get; init; }
    public required long PeerPayloadBytes { get; init; }
    /// <summary>Payload bytes uploaded to peers per device: min, median, max.</summary>
    public required long[] PeerPayloadPerDevice { get; init; }
    public required double Seconds { get; init; }
    /// <summary>When the last receipt notice came back (every packet reached every group).</summary>
    public double? DeliveredSeconds { get; init; }
    /// <summary>Protocol v2: seconds until every device held the whole verified chunk-hash list (data waits for it).</summary>
    public double? ListHeldSeconds { get; init; }
    /// <summary>Kumar–Ross lower bound for the configured rates; null when links are unlimited.</summary>
    public double? BoundSeconds { get; init; }
    public double? BoundRatio => BoundSeconds is > 0 ? Seconds / BoundSeconds : null;
    public required double GatewayPayloadPerImage { get; init; }
    /// <summary>What the broker sent and received during the rollout, data apart from control (null: an external
    /// broker without $SYS byte counters).</summary>
    public IotOta.Gateway.Mqtt.BrokerReport? Broker { get; init; }
    public required long OriginalsSent { get; init; }
    public required long RelaysNamed { get; init; }
    public required long RepairCopiesSent { get; init; }
    public required long Reallocations { get; init; }
    /// <summary><see cref="Reallocations"/> by cause (timed out, relay timed out, left, withdrawn).</summary>
    public IotOta.Gateway.Scheduling.ReplanCauses? ReplansBy { get; init; }
    /// <summary>The gateway's notice timer at the end: smoothed lateness and its deviation in seconds.</summary>
    public double NoticeLatenessSeconds { get; init; }
    public double NoticeDeviationSeconds { get; init; }
    public required string Mode { get; init; }
    /// <summary>The most peer connections (inbound and outbound together) any device held at once.</summary>
    public int PeerConnectionsMax { get; init; }
    /// <summary>The per-device peer connection limit of the run (the smallest when boards differ; 0 = unlimited).</summary>
    public int PeerConnectionLimit { get; init; }
    /// <summary>Peer connections refused, over all devices, because every socket of the device was busy.</summary>
    public long PeerConnectionsRefused { get; init; }
    /// <summary>Relay copies passed on down the relay trees, over all devices (one per packet and tree position that
    /// has children, when every relay held its table).</summary>
    public long TreeRelays { get; init; }
    /// <summary>Per board profile (with --board): devices, updated, staging capacity and high-water mark, the device
    /// core's peak heap against the budget.</summary>
    public IReadOnlyList<BoardFigures> Boards { get; init; } = [];
    /// <summary>The gateway's overhead table at the end: per device overhead, arrival time, forwarding rate.</summary>
    public IReadOnlyList<IotOta.Gateway.Scheduling.DeviceOverhead> Overheads { get; init; } = [];
    public required bool TimedOut { get; init; }
    /// <summary>Why devices failed beyond not finishing: a device core that exceeded its board's heap budget.</summary>
    public IReadOnlyList<string> Errors { get; init; } = [];
}

/// <summary>A board profile's figures in a demo run: staging high-water mark against the staging capacity (most over
/// its devices), and the device core's peak heap (retained + largest call, most over its devices and boots) against
/// the profile's coreHeapBudget; OverBudget devices exceeded it and were stopped.</summary>
public sealed record BoardFigures(string Board, string SinkMode, int Devices, int Updated, int ChunkSize, int StagingCapacity, int StagingHighWater,
    long CorePeakHeapBytes = 0, long CoreRetainedBytes = 0, int CoreHeapBudget = 0, int OverBudget = 0)
{
    /// <summary>The peak per phase (most over the devices): receiving, the install, the boot after the install. The
    /// budget applies to each.</summary>
    public long CoreReceivePeakBytes { get; init; }
    public long CoreInstallPeakBytes { get; init; }
    public long CoreAfterInstallPeakBytes { get; init; }
}
