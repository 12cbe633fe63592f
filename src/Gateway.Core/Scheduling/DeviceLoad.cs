namespace IotOta.Gateway.Scheduling;

/// <summary>The minimum units a device holds that the gateway has not yet seen a notice for. Not thread-safe.</summary>
public sealed class DeviceLoad(uint nodeId)
{
    public uint NodeId { get; } = nodeId;
    public int InFlight { get; set; }
    /// <summary>Copy bytes the device still has to forward for its outstanding minimum units.</summary>
    public double InFlightBytes { get; set; }
    /// <summary>Minimum units assigned to it so far in this rollout.</summary>
    public long Assigned { get; set; }
    public long CopyBytesAssigned { get; set; }
    /// <summary>Deliveries of this device that timed out since its last notice; the selector shuns it meanwhile.</summary>
    public int Strikes { get; set; }
    /// <summary>When the device is expected to have forwarded everything it holds (TimeProvider timestamp; 0 = not
    /// tracked): each job is booked behind the previous one at the rate known when it was assigned. Lets the selector
    /// credit the part of the backlog the device has worked off since its last notice.</summary>
    public long BusyUntil { get; set; }
    /// <summary>The largest job (copy bytes) it holds or held: how far the credit may go below the in-flight bytes.</summary>
    public double LargestJobBytes { get; set; }
    /// <summary>Of <see cref="InFlightBytes"/>, the jobs at deep relay-tree positions (below level 1): the rotation hands
    /// them to the device, and their packet reaches it only after the root and the levels above forwarded it.</summary>
    public double DeepBytes { get; set; }
}
