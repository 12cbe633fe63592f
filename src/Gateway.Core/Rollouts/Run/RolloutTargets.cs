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

    /// <summary>The devices the gateway knows as the rollout starts are targets, not only those on the destination
    /// list: that list is published paced (<see cref="MemberListPacing"/>), so a device that came back moments ago (the
    /// reboot that ended the previous rollout) is online but not on it yet; its group gets the manifest and the rollout
    /// waits for it. With a window (<paramref name="offlineToo"/>) the offline ones too: pending until they return.</summary>
    public void AddKnown(IEnumerable<DeviceRecord> known, bool offlineToo)
    {
        lock (_gate)
        {
            foreach (var d in known)
            {
                if (!d.Online && !offlineToo || !IsTarget(d.NodeId, d.GroupId)) continue;
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
