using IotOta.Gateway.Fleet;
using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Rollouts.Run;

/// <summary>
/// What a benchmark baseline (<see cref="RolloutOptions.Baseline"/>) has sent on each device's stream (its in-topic, or
/// its group's topic under group fan-out: <see cref="IBaselineStrategy.StreamOf"/>), so that the gateway repairs what
/// was lost, never what is still on its way. MQTT over TCP loses nothing while the device stays connected (AWS IoT OTA
/// streams blocks this way), however long the broker's queue to a slow device is. So a packet a device asks for is
/// lost only when it went out on the stream and either the device's session broke (it left or rejoined the
/// destination list) after it went out, or the device gained nothing for <see cref="StallAfter"/> (a broker that drops
/// queued QoS 0 messages, a packet the device dropped). A later packet held proves nothing: peers repair out of order.
/// Thread-safe.
/// </summary>
internal sealed class BaselineStreams(IBaselineStrategy baseline, DeviceRegistry registry, TimeProvider time)
{
    /// <summary>How long a device may gain nothing before what its stream carried counts as lost (a broker that drops
    /// queued QoS 0 messages without closing the session).</summary>
    public static readonly TimeSpan StallAfter = TimeSpan.FromSeconds(10);

    private readonly object _gate = new();
    private readonly Dictionary<string, int> _sentUpTo = new();
    private readonly Dictionary<uint, int> _brokenUpTo = new();
    private readonly Dictionary<uint, (int Held, long At)> _gained = new();
    private HashSet<uint>? _present;

    /// <summary>The packet went out on the topic (after its publish succeeded).</summary>
    public void Sent(string topic, int index)
    {
        lock (_gate)
            if (!_sentUpTo.TryGetValue(topic, out int upTo) || index > upTo) _sentUpTo[topic] = index;
    }

    /// <summary>The destination list now: a device that left or came back lost its session, and with it what its
    /// stream carried so far.</summary>
    public void Members(IReadOnlyList<FleetMember> members)
    {
        var now = members.Select(m => m.NodeId).ToHashSet();
        lock (_gate)
        {
            if (_present != null)
            {
                foreach (uint n in now) if (!_present.Contains(n)) Broke(n);
                foreach (uint n in _present) if (!now.Contains(n)) Broke(n);
            }
            _present = now;
        }
    }

    private void Broke(uint node)
    {
        if (Stream(node) is { } topic && _sentUpTo.TryGetValue(topic, out int upTo)) _brokenUpTo[node] = upTo;
    }

    private string? Stream(uint node) => baseline.StreamOf(node, registry.Get(node)?.GroupId ?? -1);

    /// <summary>Reads the request (what the device holds, whether it gained since its last one) and returns which of
    /// its missing packets are lost: true = repair it, false = it is on its way.</summary>
    public Func<int, bool> LostIn(RepairRequest r)
    {
        int held = 0;
        for (int i = 0; i < r.ChunkCount; i++)
            if (!r.IsMissing(i)) held++;
        long now = time.GetTimestamp();
        int sent, broken;
        bool stalled;
        lock (_gate)
        {
            if (!_gained.TryGetValue(r.NodeId, out var g) || held > g.Held) _gained[r.NodeId] = g = (held, now);
            stalled = time.GetElapsedTime(g.At, now) >= StallAfter;
            sent = Stream(r.NodeId) is { } topic && _sentUpTo.TryGetValue(topic, out int upTo) ? upTo : -1;
            broken = _brokenUpTo.TryGetValue(r.NodeId, out int b) ? b : -1;
        }
        return k => k <= sent && (k <= broken || stalled);
    }
}
