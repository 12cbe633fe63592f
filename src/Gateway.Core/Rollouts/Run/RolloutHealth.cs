using IotOta.Gateway.Fleet;
using IotOta.Gateway.Images;
using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Rollouts.Run;

/// <summary>
/// Reads the rollout's health gate (<see cref="RolloutOptions.Health"/>) on its targets — the devices that failed,
/// rolled back or stayed silent — and tells when every target is done. Called from the run loop (and snapshots).
/// </summary>
internal sealed class RolloutHealth(RolloutOptions options, DeviceRegistry registry, FirmwareImage image, RolloutTargets targets, TimeProvider time)
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);
    private readonly HashSet<uint> _participants = new();
    private long _lastCheck;
    private volatile HealthVerdict? _verdict;

    public HealthVerdict? Verdict => _verdict;

    /// <summary>Reads the gate (at most every 100 ms unless forced). Null when it was not read.</summary>
    public HealthVerdict? Read(bool force = false)
    {
        if (options.Health is not { } gate || !force && time.GetElapsedTime(_lastCheck) < Interval) return null;
        _lastCheck = time.GetTimestamp();
        var all = targets.Nodes();
        var phaseNodes = options.PhaseDevices ?? all.ToList();
        var phase = phaseNodes.Select(Sample).OfType<DeviceHealthSample>().ToList();
        var others = all.Where(t => !phaseNodes.Contains(t)).Select(Sample).OfType<DeviceHealthSample>().ToList();
        var v = gate.Evaluate(phase, others);
        _verdict = v;
        return v;
    }

    private DeviceHealthSample? Sample(uint node)
    {
        if (registry.Get(node) is not { } d) return null;
        // A device that rolled back reports no image any more: it is ours when it reported this image before, or is
        // known to hold packets of it.
        bool ours = d.ImageId == image.ImageId;
        lock (_participants)
        {
            if (ours) _participants.Add(node);
            else if (d.ImageId == 0 && (_participants.Contains(node) || HeldOurs(node))) ours = true;
        }
        bool updated = d.Runs(image);
        var state = d.State is DeviceState.Failed or DeviceState.RolledBack && !ours && !updated ? DeviceState.Idle : d.State;
        return new DeviceHealthSample(node, d.Online, state, updated, ours && d.ChunkCount == image.ChunkCount && d.HeldCount >= image.ChunkCount);
    }

    /// <summary>The gateway learned (progress reports) that the device held packets of this image.</summary>
    private bool HeldOurs(uint node) => options.Held is { } held && (held(node, 0) || held(node, image.ChunkCount - 1));

    public bool HasFailed(uint node) => options.Health?.HasFailed(node) == true;

    /// <summary>With a window (<see cref="RolloutOptions.Window"/>): an offline target that is neither updated nor
    /// failed — pending, not failed.</summary>
    public bool IsPending(DeviceRecord d) => options.Window != null && !d.Online && !d.Runs(image) && d.State != DeviceState.Failed && !HasFailed(d.NodeId);

    /// <summary>Every target that is online runs the new version or has failed; offline ones do not hold the rollout up
    /// once they have been gone for <see cref="RolloutOptions.OfflineWait"/>.</summary>
    public bool Finished()
    {
        var all = targets.Nodes();
        if (all.Count == 0) return false;
        // Who reported this image: a device that rolls back reports no image afterwards (see Sample); without a
        // health gate nothing else records it.
        lock (_participants)
            foreach (uint t in all)
                if (registry.Get(t) is { } r && r.ImageId == image.ImageId) _participants.Add(t);
        foreach (uint t in all)
        {
            var d = registry.Get(t);
            if (d == null) return false;
            // An offline target holds the rollout up for OfflineWait after it was last heard of (a partition heals,
            // a device reboots), then no longer.
            if (!d.Online)
            {
                if (IsPending(d)) return false; // within the window it holds the rollout open until it returns
                if (time.GetUtcNow() - d.LastSeen < options.OfflineWait) return false;
                continue;
            }
            if (d.Runs(image) || d.State == DeviceState.Failed || HasFailed(t)) continue;
            bool participant;
            lock (_participants) participant = _participants.Contains(t);
            if (d.State == DeviceState.RolledBack && (d.ImageId == image.ImageId || d.ImageId == 0 && (participant || HeldOurs(t)))) continue;
            return false;
        }
        return true;
    }
}
