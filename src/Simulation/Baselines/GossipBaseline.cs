using System.Collections.Concurrent;
using IotOta.Gateway.Fleet;
using IotOta.Gateway.Rollouts;
using IotOta.Shared.Protocol;

namespace IotOta.Simulation.Baselines;

/// <summary>No planning: one seed device per group (its lowest node id) gets every packet as a copy; the others pull
/// missing packets from their group's peers (the devices' repair path). The gateway answers repair requests of the
/// seeds only.</summary>
public sealed class GossipBaseline : IBaselineStrategy
{
    private readonly ConcurrentDictionary<uint, byte> _seeds = new();

    public string Name => "gossip";

    public IEnumerable<(string Topic, int Index)> Sends(IReadOnlyList<FleetMember> targets, int chunkCount)
    {
        var seeds = targets.OrderBy(m => m.NodeId).GroupBy(m => m.GroupId).OrderBy(g => g.Key).Select(g => g.First().NodeId).ToList();
        foreach (uint s in seeds) _seeds[s] = 0;
        for (int k = 0; k < chunkCount; k++)
            foreach (uint s in seeds) yield return (Topics.DeviceIn(s), k);
    }

    public bool AnswersRepairsOf(uint node) => _seeds.ContainsKey(node);
}
