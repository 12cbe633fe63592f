using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Fleet;

/// <summary>
/// The devices the gateway knows, kept current from their retained presence (and last will) and their progress
/// reports. Raises MembershipChanged when a device joins, leaves, or moves. Thread-safe.
/// </summary>
public sealed class DeviceRegistry(TimeProvider time)
{
    private readonly object _gate = new();
    private readonly Dictionary<uint, DeviceRecord> _devices = new();
    /// <summary>Per device: the version its newest presence said it runs (every boot announces itself), and the one
    /// it announced before that (null until it announced two).</summary>
    private readonly Dictionary<uint, (FirmwareVersion Newest, FirmwareVersion? Before)> _announced = new();

    /// <summary>A device came online, went offline, or changed group or address.</summary>
    public event Action? MembershipChanged;
    /// <summary>A device's state, version or progress changed.</summary>
    public event Action<DeviceRecord>? DeviceUpdated;

    public void OnPresence(Presence p)
    {
        bool membership;
        DeviceRecord rec;
        lock (_gate)
        {
            _devices.TryGetValue(p.NodeId, out DeviceRecord? old);
            rec = new DeviceRecord(p.NodeId, p.GroupId, p.Ip, p.Port, p.Online, p.RunningVersion, p.State, time.GetUtcNow(),
                old?.ImageId ?? 0, old?.HeldCount ?? 0, old?.ChunkCount ?? 0,
                p.HasCapabilities
                    ? new DeviceCapabilities(p.SlotSize, p.MaxChunkSize, p.SequentialSink, p.StagingCapacity,
                        p.HasPeerBudget ? p.MaxMembers : null, p.HasPeerBudget ? p.MaxPeerConnections : null)
                    : old?.Capabilities);
            membership = old == null || old.Online != p.Online || old.GroupId != p.GroupId || old.Ip != p.Ip || old.Port != p.Port;
            _devices[p.NodeId] = rec;
            if (p.RunningVersion != null)
            {
                if (!_announced.TryGetValue(p.NodeId, out var a)) _announced[p.NodeId] = (p.RunningVersion, null);
                else if (!a.Newest.SameAs(p.RunningVersion)) _announced[p.NodeId] = (p.RunningVersion, a.Newest);
            }
        }
        if (membership) MembershipChanged?.Invoke();
        DeviceUpdated?.Invoke(rec);
    }

    /// <summary>A progress report. One that names the running version the device announced before its newest presence
    /// comes from a core that no longer runs (sent just before an install restarted it, delivered after the new
    /// core's presence and report: they travel on different topics) and is not taken: it would set an updated device
    /// back to receiving. So is one saying "installing" the version the newest presence announced running (the
    /// installing core's, whose boot record already names the new version). A report naming a version not announced
    /// yet is taken (the new core's presence may come late, or be lost).</summary>
    public void OnProgress(ProgressReport r)
    {
        DeviceRecord rec;
        lock (_gate)
        {
            if (!_devices.TryGetValue(r.NodeId, out DeviceRecord? old)) return; // unknown until its presence arrives
            if (r.RunningVersion != null && _announced.TryGetValue(r.NodeId, out var a)
                && (!a.Newest.SameAs(r.RunningVersion) && a.Before != null && a.Before.SameAs(r.RunningVersion)
                    // "Installing" comes only from the core that installed the image (its boot record names the new
                    // version): once a presence announced that version running, that core is gone
                    || r.State == DeviceState.Installing && a.Newest.SameAs(r.RunningVersion)))
            {
                StaleReports++;
                return;
            }
            rec = old with { Version = r.RunningVersion, State = r.State, LastSeen = time.GetUtcNow(), ImageId = r.ImageId, HeldCount = r.HeldCount, ChunkCount = r.ChunkCount };
            _devices[r.NodeId] = rec;
        }
        DeviceUpdated?.Invoke(rec);
    }

    /// <summary>Progress reports not taken because they came from a core that no longer runs (see <see cref="OnProgress"/>).</summary>
    public long StaleReports { get; private set; }

    /// <summary>After a restart on a durable store: a device known from before, offline until its presence arrives.
    /// A device the registry already knows is left as it is.</summary>
    public void Restore(DeviceRecord stored)
    {
        lock (_gate)
        {
            if (_devices.ContainsKey(stored.NodeId)) return;
            _devices[stored.NodeId] = stored with { Online = false };
        }
    }

    public DeviceRecord? Get(uint node)
    {
        lock (_gate) return _devices.GetValueOrDefault(node);
    }

    public IReadOnlyList<DeviceRecord> All()
    {
        lock (_gate) return _devices.Values.OrderBy(d => d.NodeId).ToList();
    }

    public IReadOnlyList<DeviceRecord> Online()
    {
        lock (_gate) return _devices.Values.Where(d => d.Online).OrderBy(d => d.NodeId).ToList();
    }
}
