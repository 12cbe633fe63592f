using IotOta.Gateway.Fleet;
using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Rollouts;

/// <summary>
/// A way of rolling out an image that the scheme is measured against (src/Simulation/Baselines: unicast, group
/// fan-out, gossip). With a baseline (<see cref="RolloutOptions.Baseline"/>) the run loop plans nothing: it publishes
/// what <see cref="Sends"/> yields, each as a repair-flagged copy (which devices write and do not forward), and answers
/// the repair requests <see cref="AnswersRepairsOf"/> admits, for packets lost on their way (Run/BaselineStreams).
/// </summary>
public interface IBaselineStrategy
{
    /// <summary>The name the benchmark reports (e.g. "unicast").</summary>
    string Name { get; }

    /// <summary>What to publish, packet by packet, for the target members at the start (topic, packet index).</summary>
    IEnumerable<(string Topic, int Index)> Sends(IReadOnlyList<FleetMember> targets, int chunkCount);

    /// <summary>True when the gateway answers this device's repair requests.</summary>
    bool AnswersRepairsOf(uint node);

    /// <summary>The topic whose packets reach this device, in the order <see cref="Sends"/> yields them (its in-topic
    /// unless the strategy publishes to a shared one); the gateway does not repair what is still on its way there.</summary>
    string StreamOf(uint node, int group) => Topics.DeviceIn(node);

    /// <summary>Called after each publish of <see cref="Sends"/> (bytes = the packet): waits while the copies a broker
    /// makes of it (a publish to a shared topic) may not leave yet, so that its queue to the fleet stays short.</summary>
    Task PaceAsync(string topic, int bytes, CancellationToken ct) => Task.CompletedTask;
}
