using IotOta.Gateway.Fleet;

namespace IotOta.Gateway.Scheduling;

/// <summary>
/// Chooses which device of a group receives a minimum unit: the one expected to finish forwarding it first. The
/// estimate comes from the overhead table: the time an original takes to reach the device (its measured overhead
/// less its forwarding time — large for a device with a slow or backlogged download) plus the copy bytes it already
/// holds and this job's, over the forwarding rate measured from its notices. So originals go to devices in
/// proportion to what they can forward. A device takes new work only below its window and backlog horizon (an idle
/// one always may), and a device that would finish far later than the group's best is passed over even when the
/// best is busy: waiting for a fast device beats queueing behind a slow one.
/// </summary>
public sealed class IntermediateSelector(OverheadTable overheads, SchedulerOptions options)
{
    public double RateOf(uint node)
    {
        double r = overheads.ForwardRate(node);
        return double.IsNaN(r) || r <= 0 ? options.PriorForwardRate : r;
    }

    /// <summary>Expected seconds until the device would have forwarded an extra job of jobBytes.</summary>
    /// A device whose deliveries timed out since its last notice counts one notice timeout per strike on top, so a
    /// silent device does not win its own expired work straight back.
    public double FinishSeconds(DeviceLoad load, double jobBytes) =>
        overheads.ArrivalMs(load.NodeId) / 1000.0 + (load.InFlightBytes + jobBytes) / RateOf(load.NodeId)
        + load.Strikes * options.MinNoticeTimeout.TotalSeconds;

    public bool HasRoom(DeviceLoad load)
    {
        if (load.InFlight == 0) return true;
        if (load.InFlight >= options.MaxInFlightPerDevice) return false;
        return load.InFlightBytes / RateOf(load.NodeId) < options.BacklogHorizon.TotalSeconds;
    }

    /// <summary>Room for a job the gateway cannot steer elsewhere (a relay-tree position below level 1, whose device
    /// the parent's table names): only the in-flight cap applies, the device queues the rest. Holding the packet back
    /// until the backlog drains would idle every other device, since each packet needs one device in every group.</summary>
    public bool HasQueueRoom(DeviceLoad load) => load.InFlight < options.MaxInFlightPerDevice;

    /// <summary>The best device of the candidates for a job of jobBytes, or null when none should take it now.</summary>
    public FleetMember? Pick(IReadOnlyList<FleetMember> candidates, Func<uint, DeviceLoad> loadOf, double jobBytes, out double finishSeconds)
        => Pick(candidates, loadOf, jobBytes, double.PositiveInfinity, out finishSeconds);

    /// <summary>As above; near the end of a rollout (<paramref name="remainingSeconds"/>: the work still to do over
    /// the fleet's forwarding capacity) a device that would finish after the rollout could is passed over too, unless
    /// it is as fast as its group gets: a slow device's last job would otherwise set the completion time.</summary>
    public FleetMember? Pick(IReadOnlyList<FleetMember> candidates, Func<uint, DeviceLoad> loadOf, double jobBytes, double remainingSeconds, out double finishSeconds)
        => Pick(candidates, loadOf, jobBytes, remainingSeconds, null, out finishSeconds);

    /// <summary>As above, with a device to take when it is nearly as good as the best (within the backlog horizon;
    /// its own backlog may pass the horizon, up to the in-flight cap):
    /// the relay trees' rotation names one, so that the groups' deeper positions, which follow the rotation, and the
    /// positions the gateway chooses share the work evenly while the gateway still steers around slow or busy
    /// devices.</summary>
    public FleetMember? Pick(IReadOnlyList<FleetMember> candidates, Func<uint, DeviceLoad> loadOf, double jobBytes, double remainingSeconds, FleetMember? preferred, out double finishSeconds)
    {
        FleetMember? best = null;
        finishSeconds = double.PositiveInfinity;
        double bestAny = double.PositiveInfinity;
        foreach (FleetMember m in candidates)
        {
            DeviceLoad load = loadOf(m.NodeId);
            double f = FinishSeconds(load, jobBytes);
            bestAny = Math.Min(bestAny, f);
            if (!HasRoom(load)) continue;
            if (f < finishSeconds || (f == finishSeconds && best != null && load.Assigned < loadOf(best.NodeId).Assigned))
            {
                finishSeconds = f;
                best = m;
            }
        }
        double horizon = options.BacklogHorizon.TotalSeconds;
        if (best != null && preferred != null && !ReferenceEquals(best, preferred))
        {
            DeviceLoad load = loadOf(preferred.NodeId);
            double f = FinishSeconds(load, jobBytes);
            if (HasQueueRoom(load) && f <= finishSeconds + horizon)
            {
                best = preferred;
                finishSeconds = f;
            }
        }
        if (best != null && finishSeconds > options.SlowDeviceFactor * bestAny + horizon) return null;
        if (best != null && finishSeconds > Math.Max(remainingSeconds, bestAny) + horizon) return null;
        return best;
    }
}
