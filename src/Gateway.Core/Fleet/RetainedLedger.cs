using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Fleet;

/// <summary>
/// The last retained message the gateway published on each topic (an empty payload clears it, as on the broker). A
/// clustered broker may not carry retained messages to every node, and a broker restarted without persistence loses
/// them; from this ledger the gateway can answer a device directly (<see cref="DeviceCatchUp"/>). Thread-safe.
/// </summary>
public sealed class RetainedLedger
{
    private readonly object _gate = new();
    private readonly Dictionary<string, byte[]> _last = new(StringComparer.Ordinal);
    private readonly Dictionary<int, byte[]> _roots = new();

    /// <summary>Notes a retained publish (a copy of the payload is kept).</summary>
    public void Record(string topic, ReadOnlySpan<byte> payload)
    {
        lock (_gate)
        {
            if (payload.IsEmpty) _last.Remove(topic);
            else _last[topic] = payload.ToArray();
        }
    }

    /// <summary>Protocol v2: the signed ImageRoot of the rollout that targets <paramref name="groupId"/>. It is not
    /// retained on the broker (it goes to the group's seeds and on over the peers), so a device that reconnects or
    /// joins late gets it from nowhere but the gateway: kept here, it is part of <see cref="ForGroup"/> (under
    /// <see cref="Topics.GroupRoot"/>, a name only: nothing is published there). An empty root forgets it.</summary>
    public void KeepRoot(int groupId, ReadOnlySpan<byte> root)
    {
        lock (_gate)
        {
            if (root.IsEmpty) _roots.Remove(groupId);
            else _roots[groupId] = root.ToArray();
        }
    }

    /// <summary>What a device of <paramref name="groupId"/> would get from retained messages on subscribing: its group's
    /// topics (member list, manifest, relay-tree table, and whatever else the gateway keeps retained under
    /// iotota/grp/{g}/) and the fleet-wide rollout topics, in that order, member list first and manifest before tables;
    /// with protocol v2, the group's kept (not retained) ImageRoot takes the manifest's place (<see cref="KeepRoot"/>).</summary>
    public IReadOnlyList<(string Topic, byte[] Payload)> ForGroup(int groupId)
    {
        string groupPrefix = $"{Topics.Root}/grp/{groupId}/";
        const string fleetPrefix = Topics.Root + "/rollout/";
        lock (_gate)
        {
            var state = _last.Where(kv => kv.Key.StartsWith(groupPrefix, StringComparison.Ordinal) || kv.Key.StartsWith(fleetPrefix, StringComparison.Ordinal));
            if (_roots.TryGetValue(groupId, out var root))
                state = state.Where(kv => kv.Key != Topics.GroupManifest(groupId) && kv.Key != Topics.Manifest) // an older v1 rollout's
                    .Append(new KeyValuePair<string, byte[]>(Topics.GroupRoot(groupId), root));
            return state
                .OrderBy(kv => Rank(kv.Key, groupId)).ThenBy(kv => kv.Key, StringComparer.Ordinal)
                .Select(kv => (kv.Key, kv.Value)).ToList();
        }
    }

    private static int Rank(string topic, int groupId) =>
        topic == Topics.GroupMembers(groupId) ? 0 : topic == Topics.GroupManifest(groupId) || topic == Topics.Manifest || topic == Topics.GroupRoot(groupId) ? 1 : 2;
}
