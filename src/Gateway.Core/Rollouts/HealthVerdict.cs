namespace IotOta.Gateway.Rollouts;

/// <summary>The health gate's reading of a phase: how many of its devices are updated, failed or still going, whether
/// the phase passed its success threshold, and whether the rollout must pause (and why).</summary>
public sealed record HealthVerdict(int PhaseDevices, int PhaseUpdated, int PhaseFailed, int RequiredUpdated, bool PhasePassed,
    int FailedTotal, int FailuresAcknowledged, bool Pause, string? Reason, IReadOnlyList<uint> FailedDevices, IReadOnlyList<uint> SilentDevices);
