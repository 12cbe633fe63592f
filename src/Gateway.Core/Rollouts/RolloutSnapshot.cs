namespace IotOta.Gateway.Rollouts;

/// <summary>Progress of one group in a rollout.</summary>
public sealed record GroupProgress(int GroupId, int Devices, int Updated, long HeldPackets, long TotalPackets);

/// <summary>Where a rollout stands.</summary>
public sealed record RolloutSnapshot(TimeSpan Elapsed, IReadOnlyList<GroupProgress> Groups, int Devices, int Updated, int Failed,
    long GatewayPayloadBytes, long ImageBytes, int DeliveriesDone, int DeliveriesTotal, bool Paused = false, string? PauseReason = null,
    HealthVerdict? Health = null)
{
    /// <summary>Targets offline and not updated within the rollout's window (not failed).</summary>
    public int Pending { get; init; }
}
