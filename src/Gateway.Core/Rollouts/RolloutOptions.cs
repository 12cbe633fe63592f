using IotOta.Gateway.Scheduling;

namespace IotOta.Gateway.Rollouts;

/// <summary>How one rollout runs.</summary>
public sealed record RolloutOptions
{
    public SchedulerOptions Scheduler { get; init; } = new();
    /// <summary>Give up (and count the devices not updated as failed) after this long.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(10);
    /// <summary>How often progress is reported to the caller.</summary>
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromMilliseconds(250);
    /// <summary>Packets the gateway sends at most per repair request it answers.</summary>
    public int MaxRepairReplies { get; init; } = 64;
    /// <summary>Which devices (node id, group id) this rollout plans packets for, answers repairs of and waits on;
    /// null = every device on the destination list. The manifest goes only to the targets' groups (retained, one topic
    /// per group), or with <see cref="ManifestPerDevice"/> to each target device: devices outside the targets do not
    /// hear of the rollout.</summary>
    public Func<uint, int, bool>? Targets { get; init; }
    /// <summary>A benchmark baseline to roll out by instead of the scheme (src/Simulation/Baselines); null (the
    /// default) = scheduler-planned originals, one per packet for the whole fleet, relayed across groups and copied
    /// inside groups by the devices.</summary>
    public IBaselineStrategy? Baseline { get; init; }
    /// <summary>What a device is known to hold of this image (node, packet index), from its progress reports and repair
    /// requests (and, after a gateway restart, the stored ones): a packet every member of a group holds is not planned
    /// for that group again, and any packet sent to a device that holds it is counted in
    /// <see cref="RolloutResult.ResentBytes"/>. Null = nothing is known.</summary>
    public Func<uint, int, bool>? Held { get; init; }
    /// <summary>Grows whenever <see cref="Held"/> learned something: the engine then marks again the packets every
    /// member of a group holds (a receipt notice lost to a broker restart does not make a packet go out again).</summary>
    public Func<long>? HeldVersion { get; init; }
    /// <summary>How long a target device that went offline (last will) still counts as one the rollout waits for:
    /// zero (the default) ends the rollout once every online target is done; longer rides out a partition or a
    /// reboot, after which the device comes back and gets the rest of the image.</summary>
    public TimeSpan OfflineWait { get; init; } = TimeSpan.Zero;
    /// <summary>The rollout's window: how long it stays open for its targets. Within it a target that is offline and
    /// not updated is pending (not failed) and holds the rollout open until it returns; a device that joins a targeted
    /// group is added. The run ends when every target is updated or failed, or when the window ends: devices still
    /// offline then are reported pending (<see cref="RolloutResult.Pending"/>), online ones not updated failed. When set,
    /// it replaces <see cref="OfflineWait"/>, and <see cref="Timeout"/> ends the run early only while no target is pending
    /// (it bounds the online devices' progress). Null = the old behaviour (Timeout, OfflineWait).</summary>
    public TimeSpan? Window { get; init; }
    /// <summary>After the gateway's MQTT link came back (a broker restart), how long planning waits at most for every
    /// online target device to report what it holds before packets whose notices were lost are planned again.</summary>
    public TimeSpan ReconnectSettle { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Protocol v2 with at most 21 groups (every relay-tree table a level-1 one): the tables go first and the
    /// hash-list pieces go down the relay trees, one original each, instead of one per 9 groups (docs/protocol.md,
    /// *Pieces down the relay trees*). At 100 devices in 10 groups it saves the broker 8.5–10 KB (the list once, not
    /// twice) in the same time. Off until session 16: in the real heterogeneous fleet (a quarter of the devices ten times
    /// slower) the median device took 61–63 s against 48–60 s (a piece passes two relays chosen before any rate is
    /// known). With silent interior relays (SchedulerOptions.SilentTreeInterior) the median device takes 56–62 s either
    /// way, and with the pieces down the trees the last device 91.5–94.9 s against 84–103 s without (2 runs).</summary>
    public bool PiecesDownTrees { get; init; } = true;

    /// <summary>A phase resumed from the durable store (a restarted gateway): the devices may hold much of the image,
    /// so nothing is planned until the online targets told what they hold, as after a broker reconnect (at most
    /// <see cref="ReconnectSettle"/>).</summary>
    public bool Resumed { get; init; }
    /// <summary>The rollout's health policy at run time (one gate for all its phases): devices that failed, rolled
    /// back or stayed silent after install; the engine pauses itself when the gate says so. Null = no gate.</summary>
    public HealthGate? Health { get; init; }
    /// <summary>The devices of the current phase, which the gate's success threshold is read on (null = every target).</summary>
    public IReadOnlyList<uint>? PhaseDevices { get; init; }
    /// <summary>End the run as soon as the phase passed its success threshold (a phase before the last): the next
    /// phase's run takes over, and this phase's stragglers stay its targets.</summary>
    public bool EndWhenPhasePassed { get; init; }
    /// <summary>Send the manifest to each target device's own topic (not retained; again while a device has not
    /// reported it) instead of the retained group topic: a phase can then take part of a group.</summary>
    public bool ManifestPerDevice { get; init; }
    /// <summary>Protocol v2 (issue #15): the signed root and hash pieces of the image. Set, the groups' retained topics
    /// get the 160-byte root instead of the manifest and the chunk-hash list travels over the devices' own links
    /// (RolloutEngine.Roots); null: the v1 manifest.</summary>
    public Images.ImageRootSet? Root { get; init; }
}
