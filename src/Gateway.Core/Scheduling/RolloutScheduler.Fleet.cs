using IotOta.Gateway.Fleet;

namespace IotOta.Gateway.Scheduling;

/// <summary>The fleet the plan works on: devices joining, leaving or moving between groups, the live groups and what
/// every packet still needs; before any device may take data, the devices the relay trees are laid over.</summary>
public sealed partial class RolloutScheduler
{
    /// <summary>The destination list changed: devices joined or left. Work held by devices that left is planned again.</summary>
    public void UpdateFleet(IEnumerable<FleetMember> members) => UpdateFleet(members, null);

    /// <summary>As <see cref="UpdateFleet(IEnumerable{FleetMember})"/>; while <paramref name="members"/> is empty (no
    /// device may take data yet: on protocol v2 they are getting the hash list), the relay trees are laid over
    /// <paramref name="expected"/>, the devices that will take it (RolloutScheduler.Trees).</summary>
    public void UpdateFleet(IEnumerable<FleetMember> members, IReadOnlyList<FleetMember>? expected)
    {
        lock (_gate)
        {
            var next = members.ToDictionary(m => m.NodeId);
            long before = Reallocations;
            foreach (uint gone in _members.Keys.Where(n => !next.ContainsKey(n)).ToList())
            {
                OrphanAllOf(gone); // RolloutScheduler.Departures: waits for a holder, its return or the deadline
                _members.Remove(gone);
                _queues.Remove(gone);
            }
            // A device that moved to another group: what it holds was planned for its old group.
            foreach (var moved in next.Values.Where(m => _members.TryGetValue(m.NodeId, out var old) && old.GroupId != m.GroupId).ToList())
            {
                ReleaseAllOf(moved.NodeId);
            }
            _replansLeft += Reallocations - before;
            foreach (var m in next.Values)
            {
                _members[m.NodeId] = m;
                if (!_loads.ContainsKey(m.NodeId)) _loads[m.NodeId] = new DeviceLoad(m.NodeId);
                if (!_groups.ContainsKey(m.GroupId)) _groups[m.GroupId] = new GroupPlan(m.GroupId, _chunkCount);
            }
            var byGroup = _members.Values.GroupBy(m => m.GroupId).ToDictionary(g => g.Key, g => g.OrderBy(m => m.NodeId).ToList());
            foreach (var g in _groups.Values)
            {
                g.Members = byGroup.TryGetValue(g.Id, out var list) ? list : new List<FleetMember>();
                g.Live = g.Members.Count > 0;
                // A group without members has no window (it must not hold packets back for the rest).
                int smallestStaging = g.Live && _options.StagingCapacityOf is { } staging
                    ? g.Members.Select(m => staging(m.NodeId)).Where(c => c > 0).DefaultIfEmpty(0).Min()
                    : 0;
                _window.SetGroup(g.Id, smallestStaging);
            }
            _live = _groups.Values.Where(g => g.Live).OrderBy(g => g.Id).ToList();
            // Recount what every packet still needs: a group that was empty may have members again and still be owed.
            Array.Clear(_pendingCount);
            _liveDone = 0;
            foreach (var g in _live)
            {
                _liveDone += g.DoneCount;
                for (int k = 0; k < _chunkCount; k++)
                {
                    if (g.Status[k] == Pending) _pendingCount[k]++;
                }
            }
            _pending.Clear();
            for (int k = 0; k < _chunkCount; k++)
            {
                if (_pendingCount[k] > 0) _pending.Add(k);
            }
            _treeFleet = _live.Count == 0 && expected is { Count: > 0 }
                ? expected.GroupBy(m => m.GroupId).OrderBy(g => g.Key).Select(g => (g.Key, g.OrderBy(m => m.NodeId).ToList())).ToList()
                : null;
            RebuildForest();
        }
    }

    private void ReleaseAllOf(uint node)
    {
        foreach (var g in _groups.Values)
        {
            for (int k = 0; k < _chunkCount; k++)
            {
                // Its own deliveries, and everything that was to get the packet through it.
                if (g.Status[k] == InFlight && g.Owner[k] == node)
                {
                    Replan(g, k);
                    ReleaseSubtree(k, node);
                }
                else if (g.Status[k] == InFlight && g.Via[k] == node)
                {
                    ReleaseSubtree(k, node);
                }
            }
        }
    }
}
