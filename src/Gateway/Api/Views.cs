using IotOta.Gateway.Rollouts;

namespace IotOta.Gateway.Api;

public sealed record OverheadView(double OverheadMs, double LastOverheadMs, double ForwardBytesPerSecond, long Notices, double ArrivalMs);

public sealed record DeviceView(uint NodeId, int GroupId, bool Online, string Version, string State, DateTimeOffset LastSeen,
    string ImageId, int HeldPackets, int ChunkCount, OverheadView? Overhead, int InFlight);

public sealed record GroupView(int GroupId, int Devices, int Online, IReadOnlyDictionary<string, int> Versions);

public sealed record GroupProgressView(int GroupId, int Devices, int Updated, int Failed, long HeldPackets, long TotalPackets, double Percent);

public sealed record DeviceProgressView(uint NodeId, int GroupId, bool Online, string State, string Version, int HeldPackets, int TotalPackets, bool Updated)
{
    /// <summary>Offline and not updated within the rollout's window: pending, not failed (State is "Pending").</summary>
    public bool Pending { get; init; }
    /// <summary>When the gateway last heard from the device.</summary>
    public DateTimeOffset? LastSeen { get; init; }
}

public sealed record NodeRef(uint NodeId, int GroupId);

public sealed record OrderView(int Index, NodeRef Root, IReadOnlyList<NodeRef> Relays);

public sealed record IntermediateView(uint NodeId, int GroupId, int InFlight, double InFlightBytes, long Assigned);

/// <summary>A rollout with its progress: what GET /api/rollouts/{id} returns and the event stream sends.</summary>
public sealed record RolloutView
{
    public required string Id { get; init; }
    public required string ImageId { get; init; }
    public required string Version { get; init; }
    public required string State { get; init; }
    public string? Message { get; init; }
    public required IReadOnlyList<int> Groups { get; init; }
    public int CanaryGroups { get; init; }
    public int MaxFailures { get; init; }
    public required IReadOnlyList<IReadOnlyList<int>> Phases { get; init; }
    public int Phase { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? EndedAt { get; init; }
    public int Devices { get; init; }
    public int Updated { get; init; }
    public int Failed { get; init; }
    /// <summary>Target devices offline and not updated within the window (see <see cref="DeviceProgressView.Pending"/>).</summary>
    public int Pending { get; init; }
    /// <summary>The rollout's window in seconds (its last phase waits this long for offline devices and late joiners).</summary>
    public int WindowSeconds { get; init; }
    /// <summary>When the window ends (the deadline of pending devices; set when the last phase starts, moved back by
    /// pauses, kept across a gateway restart); null before.</summary>
    public DateTimeOffset? WindowEndsAt { get; init; }
    public double Percent { get; init; }
    public double ElapsedSeconds { get; init; }
    public long ImageBytes { get; init; }
    public long GatewayPayloadBytes { get; init; }
    /// <summary>Kumar–Ross lower bound for the target devices, when the link rates are known.</summary>
    public double? BoundSeconds { get; init; }
    public required IReadOnlyList<GroupProgressView> GroupProgress { get; init; }
    public required IReadOnlyList<DeviceProgressView> DeviceProgress { get; init; }
    /// <summary>Devices holding minimum units not yet acknowledged (DeviceLoad.InFlight &gt; 0): the intermediate nodes now.</summary>
    public required IReadOnlyList<IntermediateView> Intermediates { get; init; }
    /// <summary>The latest send orders of the running phase: original to root, relays named in other groups.</summary>
    public required IReadOnlyList<OrderView> RecentOrders { get; init; }
    /// <summary>The engine's snapshot of the running (or last) phase.</summary>
    public RolloutSnapshot? Snapshot { get; init; }
    /// <summary>The devices each phase adds (canary, then percentages), once started.</summary>
    public IReadOnlyList<IotOta.Gateway.Rollouts.RolloutPhase> PhasePlan { get; init; } = Array.Empty<IotOta.Gateway.Rollouts.RolloutPhase>();
    public IReadOnlyList<uint> CanaryDevices { get; init; } = Array.Empty<uint>();
    public int CanaryCount { get; init; }
    public IReadOnlyList<int> Percentages { get; init; } = Array.Empty<int>();
    public double SuccessThreshold { get; init; }
    public int InstallTimeoutSeconds { get; init; }
    /// <summary>The health gate's last reading: the phase's devices updated and required, failed and silent devices,
    /// and why it paused the rollout (<c>pause</c>, <c>reason</c>).</summary>
    public IotOta.Gateway.Rollouts.HealthVerdict? Health { get; init; }
}
