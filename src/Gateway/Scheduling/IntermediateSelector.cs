using IotOta.Gateway.Fleet;

namespace IotOta.Gateway.Scheduling;

/// <summary>
/// Chooses which device of a group receives a minimum unit: the one that would finish forwarding it first, given
/// the work it already holds and the forwarding rate measured from its receipt notices. That hands each device
/// originals in proportion to what it can forward. A device is skipped while it holds its window of units, or while
/// its backlog exceeds the horizon (an idle device always qualifies).
/// </summary>
public sealed class IntermediateSelector(OverheadTable overheads, SchedulerOptions options)
{
    public double RateOf(uint node)
    {
        double r = overheads.ForwardRate(node);
        return double.IsNaN(r) || r <= 0 ? options.PriorForwardRate : r;
    }

    /// <summary>Expected seconds until the device would have forwarded an extra job of jobBytes.</summary>
    public double FinishSeconds(DeviceLoad load, double jobBytes) => (load.InFlightBytes + jobBytes) / RateOf(load.NodeId);

    public bool HasRoom(DeviceLoad load)
    {
        if (load.InFlight == 0) return true;
        if (load.InFlight >= options.MaxInFlightPerDevice) return false;
        return load.InFlightBytes / RateOf(load.NodeId) < options.BacklogHorizon.TotalSeconds;
    }

    /// <summary>The best device of the candidates for a job of jobBytes, or null when none has room.</summary>
    public FleetMember? Pick(IReadOnlyList<FleetMember> candidates, Func<uint, DeviceLoad> loadOf, double jobBytes, out double finishSeconds)
    {
        FleetMember? best = null;
        finishSeconds = double.PositiveInfinity;
        foreach (FleetMember m in candidates)
        {
            DeviceLoad load = loadOf(m.NodeId);
            if (!HasRoom(load)) continue;
            double f = FinishSeconds(load, jobBytes);
            if (f < finishSeconds || (f == finishSeconds && best != null && load.Assigned < loadOf(best.NodeId).Assigned))
            {
                finishSeconds = f;
                best = m;
            }
        }
        return best;
    }
}
