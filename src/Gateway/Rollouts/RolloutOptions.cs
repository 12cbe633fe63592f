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
    /// <summary>Which devices (node id, group id) this rollout plans packets for, answers repairs of and waits on;
    /// null = every device on the destination list. The manifest topic is fleet-wide in protocol v1, so devices
    /// outside the targets still hear the manifest; they get no originals or gateway repairs from this rollout.</summary>
    public Func<uint, int, bool>? Targets { get; init; }
}
