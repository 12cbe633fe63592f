using IotOta.Gateway.Fleet;
using IotOta.Gateway.Rollouts.Run;
using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Rollouts;

/// <summary>What the engine reports: snapshots while it runs, and the result when it ends.</summary>
public sealed partial class RolloutEngine
{
    /// <summary>The registry's records of the rollout's targets.</summary>
    private List<DeviceRecord> TargetRecords()
    {
        var targets = _targets.Nodes();
        return _registry.All().Where(d => targets.Contains(d.NodeId)).ToList();
    }

    public RolloutSnapshot Snapshot()
    {
        var devices = TargetRecords();
        var groups = devices.GroupBy(d => d.GroupId).OrderBy(g => g.Key).Select(g => new GroupProgress(g.Key, g.Count(),
            g.Count(d => d.Runs(_image)),
            g.Sum(d => d.Runs(_image) ? _image.ChunkCount : d.ImageId == _image.ImageId ? d.HeldCount : 0),
            (long)g.Count() * _image.ChunkCount)).ToList();
        var (done, total) = Scheduler.Progress;
        return new RolloutSnapshot(_time.GetElapsedTime(_startTimestamp), groups, devices.Count, devices.Count(d => d.Runs(_image)),
            devices.Count(d => d.State == DeviceState.Failed || _health.HasFailed(d.NodeId)), GatewayPayloadBytes, _image.Bytes.Length,
            done, total, _pause.IsPaused, _pause.Reason, _health.Verdict) { Pending = devices.Count(_health.IsPending) };
    }

    private RolloutResult Result(IProgress<RolloutSnapshot>? progress, RunEnd end)
    {
        progress?.Report(Snapshot());
        var records = TargetRecords();
        CheckHealth(force: true);
        var pending = records.Where(_health.IsPending).Select(d => new PendingDevice(d.NodeId, d.GroupId, d.LastSeen,
            _options.Held is { } h ? Enumerable.Range(0, _image.ChunkCount).Count(k => h(d.NodeId, k)) : 0)).ToList();
        var failed = records.Where(d => !d.Runs(_image) && !_health.IsPending(d)).Select(d => d.NodeId).ToList();
        return new RolloutResult
        {
            Devices = records.Count,
            Updated = records.Count(d => d.Runs(_image)),
            Failed = failed.Count,
            ImageBytes = _image.Bytes.Length,
            GatewayPayloadBytes = GatewayPayloadBytes,
            OriginalsSent = _counters.Originals,
            RelaysNamed = _counters.Relays,
            RepairCopiesSent = _counters.RepairCopies,
            Reallocations = Scheduler.Reallocations,
            ReplansBy = Scheduler.ReplansBy,
            NoticeLatenessSeconds = Scheduler.NoticeTimer.MeanLatenessSeconds,
            NoticeDeviationSeconds = Scheduler.NoticeTimer.DeviationSeconds,
            Seconds = _time.GetElapsedTime(_startTimestamp).TotalSeconds,
            DeliveredSeconds = _deliveredAt == 0 ? null : _time.GetElapsedTime(_startTimestamp, _deliveredAt).TotalSeconds,
            ListHeldSeconds = _roots?.AllHeldAfter?.TotalSeconds,
            TimedOut = end == RunEnd.TimedOut,
            FailedDevices = failed,
            PendingDevices = pending,
            DonorOrdersSent = DonorOrders.Sent,
            PacketsDelegated = DonorOrders.PacketsDelegated,
            ResentBytes = ResentBytes,
            ResentRepairBytes = ResentRepairBytes,
            DeliveriesSkipped = _counters.Skipped,
            Reconnects = _reconnects,
            PhasePassed = end == RunEnd.PhasePassed,
            Health = _health.Verdict,
        };
    }
}
