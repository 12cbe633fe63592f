using System.Collections.Concurrent;
using IotOta.Gateway.Fleet;
using IotOta.Gateway.Rollouts;

namespace IotOta.Simulation.Baselines;

/// <summary>The gateway publishes each packet once per group to the group's data topic (a broker, or the benchmark's
/// emulation of one, replicates it to the group's devices, which read it as their own in-topic). Its publishes are
/// paced to the broker's uplink to the fleet (<paramref name="brokerUplink"/>, charged with the bytes the broker sends
/// for each: one PUBLISH per member), as a flow-controlled fan-out would be: the broker's queue stays short, so no
/// device waits behind it past its keep-alive and loses its session (and its queue) to a reconnect.</summary>
public sealed class GroupFanoutBaseline(Func<int, string> groupDataTopic, Func<int, CancellationToken, Task>? brokerUplink = null) : IBaselineStrategy
{
    /// <summary>The topic prefix the benchmark's devices subscribe to (iotota/bench/group/{g}/data).</summary>
    public const string TopicPrefix = "iotota/bench/group/";

    /// <summary>MQTT PUBLISH framing besides the topic and the payload: fixed header (≤ 4 bytes) and the topic length.</summary>
    public const int PublishFraming = 6;

    private readonly ConcurrentDictionary<string, int> _members = new();

    public GroupFanoutBaseline() : this(g => TopicPrefix + g + "/data") { }

    public GroupFanoutBaseline(Func<int, CancellationToken, Task>? brokerUplink) : this(g => TopicPrefix + g + "/data", brokerUplink) { }

    public string Name => "group-fanout";

    public IEnumerable<(string Topic, int Index)> Sends(IReadOnlyList<FleetMember> targets, int chunkCount)
    {
        var groups = targets.GroupBy(m => m.GroupId).OrderBy(g => g.Key).ToList();
        foreach (var g in groups) _members[groupDataTopic(g.Key)] = g.Count();
        for (int k = 0; k < chunkCount; k++)
            foreach (var g in groups) yield return (groupDataTopic(g.Key), k);
    }

    public bool AnswersRepairsOf(uint node) => true;

    /// <summary>A member reads its group's data topic.</summary>
    public string StreamOf(uint node, int group) => groupDataTopic(group);

    /// <summary>The bytes the broker sends to the group's members for one publish of <paramref name="bytes"/> to the topic.</summary>
    public long FanoutBytes(string topic, int bytes) =>
        _members.TryGetValue(topic, out int n) ? (long)n * (bytes + topic.Length + PublishFraming) : 0;

    public Task PaceAsync(string topic, int bytes, CancellationToken ct) =>
        brokerUplink != null && FanoutBytes(topic, bytes) is > 0 and var b ? brokerUplink((int)Math.Min(int.MaxValue, b), ct) : Task.CompletedTask;
}
