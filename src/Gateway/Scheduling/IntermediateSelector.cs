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

    /// <summary>The best device of the candidates for a job of jobBytes, or null when none should take it now.</summary>
    public FleetMember? Pick(IReadOnlyList<FleetMember> candidates, Func<uint, DeviceLoad> loadOf, double jobBytes, out double finishSeconds)
        => Pick(candidates, loadOf, jobBytes, double.PositiveInfinity, out finishSeconds);

    /// <summary>As above; near the end of a rollout (<paramref name="remainingSeconds"/>: the work still to do over
    /// the fleet's forwarding capacity) a device that would finish after the rollout could is passed over too, unless
    /// it is as fast as its group gets: a slow device's last job would otherwise set the completion time.</summary>
    public FleetMember? Pick(IReadOnlyList<FleetMember> candidates, Func<uint, DeviceLoad> loadOf, double jobBytes, double remainingSeconds, out double finishSeconds)
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
        if (best != null && finishSeconds > options.SlowDeviceFactor * bestAny + horizon) return null;
        if (best != null && finishSeconds > Math.Max(remainingSeconds, bestAny) + horizon) return null;
        return best;
    }
}
