namespace IotOta.Gateway.Scheduling;

/// <summary>How the gateway plans who gets which original.</summary>
public sealed record SchedulerOptions
{
    /// <summary>Send each packet once for the whole fleet: one original to one device, which relays it to one device
    /// of every other group. When false, every group gets its own original (one per group, no overlap inside it).</summary>
    public bool CrossGroup { get; init; } = true;
    /// <summary>The copy-tree fan-out the gateway publishes with the member lists (0 = full mesh): a root job is this
    /// many copies (plus its relays).</summary>
    public int GroupFanout { get; init; } = Shared.Protocol.MemberListUpdate.DefaultFanout;
    /// <summary>At most this many minimum units outstanding per device.</summary>
    public int MaxInFlightPerDevice { get; init; } = 6;
    /// <summary>A device takes more work only while the work it already holds would finish within this horizon.</summary>
    public TimeSpan BacklogHorizon { get; init; } = TimeSpan.FromMilliseconds(600);
    /// <summary>Forwarding rate assumed for a device before any notice measured it (bytes/s).</summary>
    public double PriorForwardRate { get; init; } = 250_000;
    /// <summary>A delivery whose notice has not come back by max(this, 4 × its expected time) is planned again.</summary>
    public TimeSpan MinNoticeTimeout { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>The longest a delivery orphaned by a device that left waits, before it may be planned again, for the
    /// online members of its group to report what they hold (they report at once when a member leaves their list): a
    /// member may hold the packet already (its root copied it before it left), and an original sent again would only
    /// repeat it on the first network. It waits less when every member reported sooner.</summary>
    public TimeSpan OrphanSettle { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>The shortest a deadline that passed waits behind deliveries still out (RolloutScheduler.Queueing).</summary>
    public TimeSpan MinQueueWait { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>A deadline that passes while deliveries planned before it are still out waits for them at the rate
    /// notices came in this window (RolloutScheduler.Queueing); zero turns that off.</summary>
    public TimeSpan NoticeRateWindow { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>A device with room is passed over when it would finish later than this many times the group's best
    /// device (busy or not) plus the backlog horizon.</summary>
    public double SlowDeviceFactor { get; init; } = 2.0;
    /// <summary>The leaves of a relay tree (groups with no children at their position) send no receipt notice
    /// (RolloutScheduler.SilentRelays): their parents' notices stand for them.</summary>
    public bool SilentTreeLeaves { get; init; } = true;
    /// <summary>With silent leaves, the interior relays of a relay tree send no receipt notice either
    /// (FlagSilentTree; RolloutScheduler.SilentRelays): the gateway reckons when each is through and settles its
    /// children then.</summary>
    public bool SilentTreeInterior { get; init; } = true;
    /// <summary>Largest number of orders handed out per planning call.</summary>
    public int MaxOrdersPerCall { get; init; } = 64;
    /// <summary>A device's staging capacity in packets when its slot takes writes in order only (0 or null for
    /// random-offset devices). Groups with such devices are paced by a <see cref="SequentialWindow"/>.</summary>
    public Func<uint, int>? StagingCapacityOf { get; init; }
}
