using IotOta.Gateway.Fleet;

namespace IotOta.Gateway.Scheduling;

/// <summary>
/// Chooses which device of a group receives a minimum unit: the one expected to finish forwarding it first. The
/// estimate comes from the overhead table: the time an original takes to reach the device (its measured overhead
/// less its forwarding time — large for a device with a slow or backlogged download) plus the copy bytes it already
/// holds and this job's, over the forwarding rate measured from its notices. So originals go to devices in
/// proportion to what they can forward. A device takes new work only below its window and backlog horizon (an idle
/// one always may; the backlog is credited with what the device has worked off since it was booked), and a device
/// that would finish far later than the group's best is passed over even when the best is busy: waiting for a fast
/// device beats queueing behind a slow one.
/// </summary>
public sealed class IntermediateSelector(OverheadTable overheads, SchedulerOptions options, TimeProvider? time = null)
{
    /// <summary>True once a notice measured the device's forwarding rate (before that, RateOf is the prior).</summary>
    public bool IsMeasured(uint node) => !double.IsNaN(overheads.ForwardRate(node));

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

    /// <summary>Seconds of forwarding the device still has before it gets to a new job, as far as the clock tells.
    /// Its in-flight bytes count in full until their notices come back, so by them alone a device that has nearly
    /// finished its backlog looks as busy as one that just took it on, and is refused work it could start at once
    /// (at the end of a rollout that left backlogs up to a root job apart). With a clock the scheduler books each
    /// device's jobs one behind the other (<see cref="DeviceLoad.BusyUntil"/>) and the backlog is what of that
    /// booking still lies ahead: never more than the in-flight bytes, never less than them minus the device's largest
    /// job (a device that stalls is credited at most one job it has not done).</summary>
    public double BacklogSeconds(DeviceLoad load) => Backlog(load, measuredOnly: false, withoutDeep: false);

    private double Backlog(DeviceLoad load, bool measuredOnly, bool withoutDeep)
    {
        double rate = RateOf(load.NodeId);
        double full = (load.InFlightBytes - (withoutDeep ? load.DeepBytes : 0)) / rate;
        if (time == null || load.BusyUntil == 0 || full <= 0) return full;
        if (measuredOnly && double.IsNaN(overheads.ForwardRate(load.NodeId))) return full;
        double booked = time.GetElapsedTime(time.GetTimestamp(), load.BusyUntil).TotalSeconds;
        double floor = Math.Max(0, full - load.LargestJobBytes / rate);
        return Math.Clamp(booked, floor, full);
    }

    /// <summary>A device takes more work below the in-flight cap while its backlog (<see cref="BacklogSeconds"/>) is
    /// under the horizon. The credit for work done since the last notice counts only once a notice measured the
    /// device's rate: booked at the prior rate, a device ten times slower would be credited work it has not done
    /// and take jobs it cannot finish before their deadlines (heterogeneous fleets then re-sent packets from the
    /// gateway). Which device of a group gets a job still goes by <see cref="FinishSeconds"/> on the full in-flight
    /// bytes: ranking by the credited backlog sends jobs to the devices furthest through theirs, which fills them to
    /// the in-flight cap sooner and leaves slow devices idle (their share of the copies fell to a third of their
    /// capacity's in RolloutSchedulerTests). Jobs at deep relay-tree positions (<see cref="DeviceLoad.DeepBytes"/>) do
    /// not count toward the horizon: their packet reaches the device only after the levels above forwarded it. Counted,
    /// at N = 1,000 in 63 groups every member of a tree's root group held such a job (8 KB, 0.65 s at the prior rate)
    /// after 16 packets, so no packet of that tree had a root, and planning (in packet order) waited ~7 s for notices:
    /// the gateway had sent 0.25 × the image 5 s in and 0.98 × only at 16 s.</summary>
    public bool HasRoom(DeviceLoad load)
    {
        if (load.InFlight == 0) return true;
        if (load.InFlight >= options.MaxInFlightPerDevice) return false;
        return Backlog(load, measuredOnly: true, withoutDeep: true) < options.BacklogHorizon.TotalSeconds;
    }

    /// <summary>Room for a job the gateway cannot steer elsewhere (a relay-tree position below level 1, whose device
    /// the parent's table names) or will not (a relay tree's root or level 1 evening out its group's minimum units,
    /// RolloutScheduler.Trees): only the in-flight cap applies, the device queues the rest. Holding the packet back
    /// until the backlog drains would idle every other device, since each packet needs one device in every group.</summary>
    public bool HasQueueRoom(DeviceLoad load) => load.InFlight < options.MaxInFlightPerDevice;

    /// <summary>True when a device finishing a job at <paramref name="finishSeconds"/> is not one the selector would pass
    /// over as slow: within SlowDeviceFactor × the candidates' best finish (busy or not) plus the backlog horizon.</summary>
    public bool NotSlow(IReadOnlyList<FleetMember> candidates, Func<uint, DeviceLoad> loadOf, double jobBytes, double finishSeconds)
    {
        double bestAny = double.PositiveInfinity;
        foreach (FleetMember m in candidates) bestAny = Math.Min(bestAny, FinishSeconds(loadOf(m.NodeId), jobBytes));
        return !TooSlow(finishSeconds, bestAny);
    }

    /// <summary>A finish past SlowDeviceFactor × the best finish of its candidates (busy or not) plus the backlog
    /// horizon: the selector passes such a device over.</summary>
    private bool TooSlow(double finishSeconds, double bestAny) => finishSeconds > options.SlowDeviceFactor * bestAny + options.BacklogHorizon.TotalSeconds;

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
        => Pick(candidates, loadOf, jobBytes, remainingSeconds, preferred, null, out finishSeconds);

    /// <summary>As above; with <paramref name="treeSeconds"/> (what taking the job would cost the group in copy-tree
    /// work: RolloutScheduler.CopyTrees), the device is the one that costs the least of those that would finish within
    /// the backlog horizon of the best: the root's own readiness first, then the share of the tree work. (Added to the
    /// finish instead, the tree term — a sum over every member's copies — outweighed it: roots were taken that still
    /// had work queued, and N = 100 took 10.2–10.6 s instead of 9.9–10.0.)</summary>
    public FleetMember? Pick(IReadOnlyList<FleetMember> candidates, Func<uint, DeviceLoad> loadOf, double jobBytes, double remainingSeconds, FleetMember? preferred, Func<FleetMember, double>? treeSeconds, out double finishSeconds)
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
        if (best != null && treeSeconds != null)
        {
            double near = finishSeconds + options.BacklogHorizon.TotalSeconds, bestTree = double.PositiveInfinity, chosen = finishSeconds;
            foreach (FleetMember m in candidates)
            {
                DeviceLoad load = loadOf(m.NodeId);
                double f = FinishSeconds(load, jobBytes);
                if (f > near || !HasRoom(load)) continue;
                double tree = treeSeconds(m);
                if (tree < bestTree || (tree == bestTree && f < chosen))
                {
                    bestTree = tree;
                    chosen = f;
                    best = m;
                }
            }
            finishSeconds = chosen;
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
        if (best != null && TooSlow(finishSeconds, bestAny)) return null;
        if (best != null && finishSeconds > Math.Max(remainingSeconds, bestAny) + horizon) return null;
        return best;
    }
}
