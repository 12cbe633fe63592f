using IotOta.Gateway.Fleet;
using IotOta.Gateway.Rollouts;
using IotOta.Shared.Protocol;

namespace IotOta.Simulation.Baselines;

/// <summary>Every device gets every packet from the gateway over MQTT (a repair-flagged copy to its in-topic, which it
/// writes and does not forward), like per-device OTA streams.</summary>
public sealed class UnicastBaseline : IBaselineStrategy
{
    public string Name => "unicast";

    public IEnumerable<(string Topic, int Index)> Sends(IReadOnlyList<FleetMember> targets, int chunkCount)
    {
        var members = targets.OrderBy(m => m.NodeId).ToList();
        for (int k = 0; k < chunkCount; k++)
            foreach (var m in members) yield return (Topics.DeviceIn(m.NodeId), k);
    }

    public bool AnswersRepairsOf(uint node) => true;
}
