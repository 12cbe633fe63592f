using IotOta.Gateway.Scheduling;

namespace IotOta.Gateway.Rollouts;

/// <summary>How a campaign runs its phases.</summary>
public sealed record RolloutCampaignOptions
{
    public SchedulerOptions Scheduler { get; init; } = new();
    /// <summary>Gateway repair copies per repair request in the phase a restarted gateway resumes (see
    /// RolloutManagerOptions.ResumedPhaseRepairReplies); later phases answer repairs as usual.</summary>
    public int ResumedPhaseRepairReplies { get; init; }
    public Action<string>? Log { get; init; }
    /// <summary>The clock of the health gates (install timeouts) and of the start and end times.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;
}
