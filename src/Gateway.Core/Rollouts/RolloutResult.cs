using IotOta.Gateway.Scheduling;

namespace IotOta.Gateway.Rollouts;

/// <summary>How a rollout ended.</summary>
public sealed record RolloutResult
{
    public required int Devices { get; init; }
    public required int Updated { get; init; }
    public required int Failed { get; init; }
    public required long ImageBytes { get; init; }
    /// <summary>Payload bytes of every data packet the gateway published (originals and repair copies).</summary>
    public required long GatewayPayloadBytes { get; init; }
    public required long OriginalsSent { get; init; }
    public required long RelaysNamed { get; init; }
    public required long RepairCopiesSent { get; init; }
    public required long Reallocations { get; init; }
    /// <summary><see cref="Reallocations"/> by cause.</summary>
    public ReplanCauses? ReplansBy { get; init; }
    /// <summary>The notice timer at the end: smoothed lateness of receipt notices and its deviation (seconds).</summary>
    public double NoticeLatenessSeconds { get; init; }
    public double NoticeDeviationSeconds { get; init; }
    public required double Seconds { get; init; }
    /// <summary>When every packet had reached every group as a minimum unit (all notices back).</summary>
    public double? DeliveredSeconds { get; init; }
    public required bool TimedOut { get; init; }
    public required IReadOnlyList<uint> FailedDevices { get; init; }
    /// <summary>Targets offline and not updated when the run ended (with a window: its end came first); not counted
    /// in <see cref="Failed"/>.</summary>
    public int Pending => PendingDevices.Count;
    public IReadOnlyList<PendingDevice> PendingDevices { get; init; } = Array.Empty<PendingDevice>();
    /// <summary>How the run ended for the operator: every target updated, ended with devices pending (and none failed),
    /// or failed.</summary>
    public RolloutOutcome Outcome => Failed > 0 ? RolloutOutcome.Failed : Pending > 0 ? RolloutOutcome.EndedWithPending
        : TimedOut && Updated < Devices ? RolloutOutcome.Failed : RolloutOutcome.AllUpdated;
    /// <summary>Payload bytes sent to a device for packets it was known to hold (see <see cref="RolloutOptions.Held"/>).</summary>
    public long ResentBytes { get; init; }
    /// <summary>The part of <see cref="ResentBytes"/> sent as repair copies (answers to repair requests).</summary>
    public long ResentRepairBytes { get; init; }
    /// <summary>Packet deliveries (packet × group) not planned because every member already held the packet.</summary>
    public long DeliveriesSkipped { get; init; }
    /// <summary>Repair requests the gateway handed to donors in the requesters' groups, and the packets in them.</summary>
    public long DonorOrdersSent { get; init; }
    public long PacketsDelegated { get; init; }
    /// <summary>Times the gateway's MQTT link came back during the rollout (manifests were published again).</summary>
    public int Reconnects { get; init; }
    /// <summary>The run ended because its phase passed the gate's success threshold (<see cref="RolloutOptions.EndWhenPhasePassed"/>).</summary>
    public bool PhasePassed { get; init; }
    /// <summary>The health gate's last reading (null without a gate).</summary>
    public HealthVerdict? Health { get; init; }
}

/// <summary>How a rollout ended, as the `rollout` command's and the CLI's exit code tells it (README "Exit codes").</summary>
public enum RolloutOutcome
{
    /// <summary>Every target runs the image: exit code 0.</summary>
    AllUpdated = 0,
    /// <summary>Some target failed (reported failure, rolled back, silent after install, or online and not updated
    /// when the run ended): exit code 1.</summary>
    Failed = 1,
    /// <summary>No target failed, but some were still offline when the window ended: exit code 3.</summary>
    EndedWithPending = 3,
}
