using IotOta.Gateway.Fleet;
using IotOta.Gateway.Rollouts;

namespace IotOta.Simulation.Baselines;

/// <summary>The gateway publishes each packet once per group to the group's data topic (a broker, or the benchmark's
/// emulation of one, replicates it to the group's devices, which read it as their own in-topic).</summary>
public sealed class GroupFanoutBaseline(Func<int, string> groupDataTopic) : IBaselineStrategy
{
    /// <summary>The topic prefix the benchmark's devices subscribe to (iotota/bench/group/{g}/data).</summary>
    public const string TopicPrefix = "iotota/bench/group/";

    public GroupFanoutBaseline() : this(g => TopicPrefix + g + "/data") { }

    public string Name => "group-fanout";

    public IEnumerable<(string Topic, int Index)> Sends(IReadOnlyList<FleetMember> targets, int chunkCount)
    {
        var groups = targets.Select(m => m.GroupId).Distinct().Order().ToList();
        for (int k = 0; k < chunkCount; k++)
            foreach (int g in groups) yield return (groupDataTopic(g), k);
    }

    public bool AnswersRepairsOf(uint node) => true;

    /// <summary>A member reads its group's data topic.</summary>
    public string StreamOf(uint node, int group) => groupDataTopic(group);
}
