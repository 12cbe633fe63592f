using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Fleet;

/// <summary>
/// The gateway's destination list: the online members of every group, with an epoch per group that grows on every
/// join or leave. Rebuilt from the registry at once on a membership change and on a periodic refresh; each group's
/// list is handed to the publisher (retained, so late joiners get it) whenever it changed.
/// </summary>
public sealed class DestinationList
{
    private readonly DeviceRegistry _registry;
    private readonly Func<int, byte[], Task> _publish;
    private readonly object _gate = new();
    private readonly Dictionary<int, (uint Epoch, string Signature)> _groups = new();
    private IReadOnlyList<FleetMember> _members = Array.Empty<FleetMember>();

    public DestinationList(DeviceRegistry registry, Func<int, byte[], Task> publishGroupList)
    {
        _registry = registry;
        _publish = publishGroupList;
    }

    /// <summary>The copy-tree fan-out published with every group's list (docs/protocol.md "Copy trees inside a
    /// group"): a member passes a chunk to at most this many others, so its peer connections stay bounded whatever
    /// the group's size. 0 = no tail: the full mesh of protocol v1.</summary>
    public int Fanout { get; init; } = MemberListUpdate.DefaultFanout;

    /// <summary>Raised after the list changed, with the new members.</summary>
    public event Action<IReadOnlyList<FleetMember>>? Changed;

    public IReadOnlyList<FleetMember> Members
    {
        get { lock (_gate) return _members; }
    }

    public uint EpochOf(int group)
    {
        lock (_gate) return _groups.TryGetValue(group, out var g) ? g.Epoch : 0;
    }

    /// <summary>Rebuilds from the registry; publishes every group whose membership changed (or all, when forced).</summary>
    public async Task RefreshAsync(bool republishAll = false)
    {
        var toPublish = new List<(int Group, byte[] Bytes)>();
        IReadOnlyList<FleetMember> members;
        bool changed = false;
        lock (_gate)
        {
            members = _registry.Online().Select(d => d.AsMember()).ToList();
            var byGroup = members.GroupBy(m => m.GroupId).ToDictionary(g => g.Key, g => g.OrderBy(m => m.NodeId).ToList());
            foreach (int gone in _groups.Keys.Where(g => !byGroup.ContainsKey(g)).ToList()) byGroup[gone] = new List<FleetMember>();
            foreach (var (group, list) in byGroup)
            {
                string sig = string.Join(",", list.Select(m => $"{m.NodeId}@{m.Ip}:{m.Port}"));
                _groups.TryGetValue(group, out var prev);
                bool differs = prev.Signature != sig || !_groups.ContainsKey(group);
                if (!differs && !republishAll) continue;
                uint epoch = differs ? prev.Epoch + 1 : prev.Epoch;
                _groups[group] = (epoch, sig);
                changed |= differs;
                var update = new MemberListUpdate { GroupId = group, Epoch = epoch, Count = list.Count, Fanout = Fanout };
                update.EnsureCapacity(list.Count);
                for (int i = 0; i < list.Count; i++)
                {
                    update.NodeIds[i] = list[i].NodeId;
                    update.Ips[i] = list[i].Ip;
                    update.Ports[i] = list[i].Port;
                }
                toPublish.Add((group, update.ToBytes()));
            }
            _members = members;
        }
        foreach (var (group, bytes) in toPublish) await _publish(group, bytes);
        if (changed) Changed?.Invoke(members);
    }
}
