using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Rollouts;

/// <summary>
/// The rollout's health policy at run time. A device has failed when it reports Failed or RolledBack (its self-test
/// failed and the previous image came back), or when it got the whole image and is not confirmed on the new one
/// within <see cref="HealthPolicy.InstallTimeout"/> (silent after install: it counts as failed instead of hanging
/// the campaign). A phase passes when at least <see cref="HealthPolicy.SuccessThreshold"/> of its devices run the
/// new image; the rollout must pause when more than <see cref="HealthPolicy.MaxFailures"/> devices failed beyond
/// the failures the operator acknowledged by resuming. Acknowledged failures are written off: a phase's threshold
/// is then read on its other devices. Pure: time from the injected TimeProvider. Thread-safe.
/// </summary>
public sealed class HealthGate(HealthPolicy policy, TimeProvider time)
{
    private readonly object _gate = new();
    private readonly Dictionary<uint, long> _installedAt = new();
    private readonly HashSet<uint> _failed = new();
    private readonly HashSet<uint> _silent = new();
    private int _acknowledged;
    private readonly HashSet<uint> _writtenOff = new();

    public HealthPolicy Policy => policy;

    /// <summary>Devices counted as failed so far (reported or silent); a failure stays counted.</summary>
    public bool HasFailed(uint node)
    {
        lock (_gate) return _failed.Contains(node);
    }

    /// <summary>The operator resumed after a pause: the failures counted so far no longer count against the threshold.</summary>
    public void Acknowledge()
    {
        lock (_gate)
        {
            _acknowledged = _failed.Count;
            _writtenOff.UnionWith(_failed);
        }
    }

    /// <summary>Reads the phase's devices (and every other device the rollout has started, for failures).</summary>
    public HealthVerdict Evaluate(IReadOnlyList<DeviceHealthSample> phase, IReadOnlyList<DeviceHealthSample> others)
    {
        lock (_gate)
        {
            long now = time.GetTimestamp();
            foreach (var d in phase.Concat(others)) Observe(d, now);
            var phaseNodes = phase.Select(d => d.Node).ToHashSet();
            int updated = phase.Count(d => d.RunsNewImage && !_failed.Contains(d.Node));
            int phaseFailed = phase.Count(d => _failed.Contains(d.Node));
            // Failures the operator acknowledged (by resuming) are written off: the threshold is read on the rest.
            int counted = phase.Count(d => !_writtenOff.Contains(d.Node));
            int required = (int)Math.Ceiling(policy.SuccessThreshold * counted - 1e-9);
            bool passed = phase.Count > 0 && updated >= required;
            int beyond = _failed.Count - _acknowledged;
            bool pause = beyond > policy.MaxFailures;
            string? reason = pause
                ? $"{_failed.Count} device(s) failed ({Describe()}); the threshold is {policy.MaxFailures}" +
                  (_acknowledged > 0 ? $" beyond the {_acknowledged} acknowledged" : "")
                : null;
            return new HealthVerdict(phase.Count, updated, phaseFailed, required, passed, _failed.Count, _acknowledged, pause, reason,
                _failed.OrderBy(n => n).ToList(), _silent.OrderBy(n => n).ToList());
        }
    }

    private void Observe(DeviceHealthSample d, long now)
    {
        // Silent past the timeout, then confirmed after all: it did not fail.
        if (d.RunsNewImage && _silent.Remove(d.Node)) _failed.Remove(d.Node);
        if (_failed.Contains(d.Node)) return;
        if (d.State is DeviceState.Failed or DeviceState.RolledBack)
        {
            _failed.Add(d.Node);
            return;
        }
        if (d.RunsNewImage)
        {
            _installedAt.Remove(d.Node);
            return;
        }
        bool installing = d.HoldsWholeImage || d.State is DeviceState.Verifying or DeviceState.Installing or DeviceState.PendingConfirm;
        if (installing && !_installedAt.ContainsKey(d.Node)) _installedAt[d.Node] = now;
        if (_installedAt.TryGetValue(d.Node, out long since) && time.GetElapsedTime(since, now) > policy.EffectiveInstallTimeout)
        {
            _failed.Add(d.Node);
            _silent.Add(d.Node);
        }
    }

    private string Describe()
    {
        var list = _failed.OrderBy(n => n).Take(8).Select(n => _silent.Contains(n) ? $"{n} silent after install" : n.ToString()).ToList();
        return string.Join(", ", list) + (_failed.Count > 8 ? ", …" : "");
    }
}
