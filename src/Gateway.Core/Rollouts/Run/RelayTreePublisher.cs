using IotOta.Gateway.Node;
using IotOta.Gateway.Scheduling;
using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Rollouts.Run;

/// <summary>
/// Relay trees (more groups than one original names): publishes each group's table, retained, when the scheduler
/// rebuilt the trees — at most once every 5 s while the fleet is still joining (on protocol v2 the plan's fleet grows as
/// devices get the hash list, and every rebuild changes the candidate lists) — and clears the tables of groups that no
/// longer have one. Only tables whose bytes changed go out. Each publish goes to every member of the group through the
/// broker's uplink: at N = 1,000 in 63 groups about 1 MB a rebuild; once a second that flooded a 1 Mbit/s uplink (0 of
/// 1,000 devices updated in 120 s, 12.5 MB of tables), once every 5 s all 1,000 finished in 51 s. Called from the run
/// loop only.
/// </summary>
internal sealed class RelayTreePublisher(IBrokerPort broker, RolloutScheduler scheduler, uint imageId, TimeProvider time)
{
    private static readonly TimeSpan MinInterval = TimeSpan.FromSeconds(5);
    private readonly Dictionary<int, byte[]> _tables = new();
    private uint _epochPublished;
    private bool _lost;
    private long _publishedAt;

    public async Task PublishAsync(CancellationToken ct)
    {
        uint epoch = scheduler.TreeEpoch;
        if (epoch == _epochPublished && !_lost) return;
        if (_publishedAt != 0 && time.GetElapsedTime(_publishedAt) < MinInterval) return;
        var tables = scheduler.RelayTables(imageId).ToDictionary(t => t.GroupId, t => t.ToBytes());
        foreach (var (g, bytes) in tables)
        {
            if (_tables.TryGetValue(g, out var old) && old.AsSpan().SequenceEqual(bytes)) continue;
            await broker.PublishAsync(Topics.GroupTree(g), bytes, retain: true, ct: ct);
            _tables[g] = bytes;
        }
        foreach (int g in _tables.Keys.Where(g => !tables.ContainsKey(g)).ToList())
        {
            await broker.PublishAsync(Topics.GroupTree(g), Array.Empty<byte>(), retain: true, ct: ct);
            _tables.Remove(g);
        }
        _epochPublished = epoch;
        _lost = false;
        _publishedAt = time.GetTimestamp();
    }

    /// <summary>The broker may have restarted and lost its retained tables: publish them all again.</summary>
    public void Forget()
    {
        _tables.Clear();
        _lost = true;
    }
}
