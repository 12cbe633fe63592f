using IotOta.Gateway.Fleet;

namespace IotOta.Gateway.Rollouts.Run;

/// <summary>The devices and groups a rollout works on: those its filter (<see cref="RolloutOptions.Targets"/>) admits,
/// remembered once seen on the destination list (a target that leaves is still waited on). Thread-safe.</summary>
internal sealed class RolloutTargets(Func<uint, int, bool>? filter)
{
    private readonly object _gate = new();
    private readonly HashSet<uint> _nodes = new();
    private readonly HashSet<int> _groups = new();

    public bool IsTarget(uint node, int group) => filter == null || filter(node, group);

    /// <summary>The members the filter admits.</summary>
    public IReadOnlyList<FleetMember> Admit(IReadOnlyList<FleetMember> members) =>
        filter == null ? members : members.Where(m => filter(m.NodeId, m.GroupId)).ToList();

    public void Add(IEnumerable<FleetMember> members)
    {
        lock (_gate)
        {
            foreach (var m in members)
            {
                _nodes.Add(m.NodeId);
                _groups.Add(m.GroupId);
            }
        }
    }

    /// <summary>With a window: devices the gateway knows that are offline as the rollout starts are targets too
    /// (pending until they return): their groups get the manifest, and the rollout waits for them.</summary>
    public void AddKnownOffline(IEnumerable<DeviceRecord> known)
    {
        lock (_gate)
        {
            foreach (var d in known)
            {
                if (d.Online || !IsTarget(d.NodeId, d.GroupId)) continue;
                _nodes.Add(d.NodeId);
                _groups.Add(d.GroupId);
            }
        }
    }

    public HashSet<uint> Nodes()
    {
        lock (_gate) return new HashSet<uint>(_nodes);
    }

    public List<int> Groups()
    {
        lock (_gate) return _groups.ToList();
    }
}
