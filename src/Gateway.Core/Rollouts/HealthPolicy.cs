namespace IotOta.Gateway.Rollouts;

/// <summary>When a phase may hand over to the next and when the rollout pauses by itself.</summary>
/// <param name="SuccessThreshold">Fraction (0 &lt; x ≤ 1) of a phase's devices that must run the new image, confirmed,
/// before the next phase starts.</param>
/// <param name="MaxFailures">Failed devices tolerated (since the start, or since the operator last resumed); one more
/// pauses the rollout.</param>
/// <param name="InstallTimeout">A device that got the whole image (or reported verifying/installing) and is not
/// confirmed on the new image this long after counts as failed: silent, not hanging the campaign.</param>
public sealed record HealthPolicy(double SuccessThreshold = 1.0, int MaxFailures = 0, TimeSpan InstallTimeout = default)
{
    public static readonly TimeSpan DefaultInstallTimeout = TimeSpan.FromMinutes(5);
    public TimeSpan EffectiveInstallTimeout => InstallTimeout > TimeSpan.Zero ? InstallTimeout : DefaultInstallTimeout;
}
