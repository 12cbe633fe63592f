using IotOta.Gateway.Scheduling;

namespace IotOta.Gateway.Rollouts;

/// <summary>How one rollout runs.</summary>
public sealed record RolloutOptions
{
    public SchedulerOptions Scheduler { get; init; } = new();
    /// <summary>Give up (and count the devices not updated as failed) after this long.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(10);
    /// <summary>How often progress is reported to the caller.</summary>
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromMilliseconds(250);
    /// <summary>Packets the gateway sends at most per repair request it answers.</summary>
    public int MaxRepairReplies { get; init; } = 64;
}
