using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Scheduling;

/// <summary>
/// For every original (and every relay it names) the gateway registers the send time; for every receipt notice, the
/// arrival time and the device's own receive and forward-done times. Overhead = notice arrival − send time, smoothed
/// per device (EWMA). The device's forwarding rate comes from its own clock: copy bytes over the time it spent
/// forwarding (each packet from max(receive, previous forward-done) to forward-done), summed over all its notices.
/// Thread-safe.
/// </summary>
public sealed class OverheadTable(TimeProvider time, double alpha = 0.3)
{
    private readonly object _gate = new();
    private readonly Dictionary<(uint Node, int Index), long> _sent = new();
    private readonly Dictionary<uint, Entry> _devices = new();

    private sealed class Entry
    {
        public double OverheadMs = double.NaN;
        public double LastOverheadMs;
        public double Rate = double.NaN;
        public double ArrivalMs = double.NaN;
        public long ArrivalAt;
        public long LastForwardedMs = long.MinValue;
        public double BytesForwarded;
        public double BusyMs;
        public long Notices;
    }

    /// <summary>Raised after every notice that matched a registered send (for logging and the console).</summary>
    public event Action<DeviceOverhead>? Updated;

    public void RegisterSend(uint node, int index)
    {
        lock (_gate) _sent[(node, index)] = time.GetTimestamp();
    }

    /// <summary>Records a notice; returns the device's updated figures, or null when no send was registered for an
    /// original's notice. A relay's notice with no registered send (a silent relay's, RolloutScheduler.SilentRelays:
    /// the device's first minimum unit) still counts toward the device's forwarding rate.</summary>
    public DeviceOverhead? RegisterNotice(ReceiptNotice notice, int chunkBytes)
    {
        DeviceOverhead result;
        lock (_gate)
        {
            bool sent = _sent.Remove((notice.NodeId, notice.Index), out long sentAt);
            if (!sent && notice.Kind == ReceiptNotice.KindOriginal) return null;
            double overhead = sent ? time.GetElapsedTime(sentAt).TotalMilliseconds : double.NaN;
            if (!_devices.TryGetValue(notice.NodeId, out Entry? e)) _devices[notice.NodeId] = e = new Entry();
            if (sent) e.LastOverheadMs = overhead;
            // A relay's copy comes from the root device, not the gateway: its time from the original's send includes
            // the root's backlog and forwarding, which says nothing about this device's own way there. Counting it
            // made devices that often relay look far away, so they never won the root role (and its extra copies).
            if (notice.Kind == ReceiptNotice.KindOriginal)
            {
                e.OverheadMs = double.IsNaN(e.OverheadMs) ? overhead : e.OverheadMs + alpha * (overhead - e.OverheadMs);
                // The part of the overhead not spent forwarding: gateway → device (including the device's download
                // backlog), the wait behind its earlier jobs (a notice's receive time is when the device began the
                // job) and the notice's way back.
                double arrival = Math.Max(0, overhead - Math.Max(0, notice.ForwardedTimeMs - notice.ReceiveTimeMs));
                e.ArrivalMs = double.IsNaN(e.ArrivalMs) ? arrival : e.ArrivalMs + alpha * (arrival - e.ArrivalMs);
                e.ArrivalAt = time.GetTimestamp();
            }
            // A device's jobs end in order, each no earlier than the last: one that ends before it means the device
            // clock started again (a restart, an install) and the old end says nothing about this job.
            if (notice.ForwardedTimeMs < e.LastForwardedMs) e.LastForwardedMs = long.MinValue;
            long start = Math.Max(notice.ReceiveTimeMs, e.LastForwardedMs);
            long busyMs = Math.Max(1, notice.ForwardedTimeMs - start);
            e.LastForwardedMs = Math.Max(e.LastForwardedMs, notice.ForwardedTimeMs);
            if (notice.CopiesSent > 0)
            {
                // Bytes over busy time, summed over the rollout: one notice's rate is noisy (link bursts, preemption).
                e.BytesForwarded += notice.CopiesSent * (double)chunkBytes;
                e.BusyMs += busyMs;
                e.Rate = e.BytesForwarded * 1000.0 / e.BusyMs;
            }
            e.Notices++;
            result = ToRecord(notice.NodeId, e);
        }
        Updated?.Invoke(result);
        return result;
    }

    public DeviceOverhead? Get(uint node)
    {
        lock (_gate) return _devices.TryGetValue(node, out Entry? e) ? ToRecord(node, e) : null;
    }

    /// <summary>Smoothed forwarding rate of a device in bytes/s, or NaN when not yet measured.</summary>
    public double ForwardRate(uint node)
    {
        lock (_gate) return _devices.TryGetValue(node, out Entry? e) ? e.Rate : double.NaN;
    }

    /// <summary>Smoothed time for an original to reach the device and its notice to come back, forwarding excluded
    /// (ms); 0 when not yet measured. A device that gets no originals for a while is not judged forever by an old
    /// measurement: the figure fades with its age (time constant <see cref="ArrivalMemory"/>), so it is tried again.</summary>
    public double ArrivalMs(uint node)
    {
        lock (_gate)
        {
            if (!_devices.TryGetValue(node, out Entry? e) || double.IsNaN(e.ArrivalMs)) return 0;
            double age = time.GetElapsedTime(e.ArrivalAt).TotalSeconds;
            return e.ArrivalMs * Math.Exp(-age / ArrivalMemory.TotalSeconds);
        }
    }

    /// <summary>How long an arrival measurement keeps (most of) its weight.</summary>
    public TimeSpan ArrivalMemory { get; init; } = TimeSpan.FromSeconds(3);

    public IReadOnlyList<DeviceOverhead> Snapshot()
    {
        lock (_gate) return _devices.Select(kv => ToRecord(kv.Key, kv.Value)).OrderBy(d => d.NodeId).ToList();
    }

    /// <summary>Drops the device's pending sends (it left); its history is kept.</summary>
    public void ForgetSends(uint node)
    {
        lock (_gate)
        {
            foreach (var key in _sent.Keys.Where(k => k.Node == node).ToList()) _sent.Remove(key);
        }
    }

    private static DeviceOverhead ToRecord(uint node, Entry e) =>
        new(node, double.IsNaN(e.OverheadMs) ? 0 : e.OverheadMs, e.LastOverheadMs, double.IsNaN(e.Rate) ? 0 : e.Rate, e.Notices,
            double.IsNaN(e.ArrivalMs) ? 0 : e.ArrivalMs);
}
