using IotOta.Gateway.Node;
using IotOta.Gateway.Scheduling;
using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Rollouts.Run;

/// <summary>
/// Relay trees (more groups than one original names): publishes the tables when the scheduler
/// rebuilt the trees — at most once every 5 s while the fleet is still joining (on protocol v2 the plan's fleet grows as
/// devices get the hash list, and every rebuild changes the candidate lists) — and clears the tables of groups that no
/// longer have one, and tells the scheduler which epoch went out (RolloutScheduler.TablesPublished: the trees' leaves
/// are asked for silence only a while after). Groups at level 1 get their table retained on the group's tree topic, and
/// so do the groups that are leaves in every tree (an empty table: their devices know they are leaves); deeper groups one table per
/// relaying member on its in-topic (<see cref="RelayTableSplit"/>; a device keeps its table in flash, and one that was
/// offline gets it on its return, which changes its group's candidates and so the trees' epoch). Only tables whose bytes
/// changed go out. Each retained publish goes to every member of the group through the
/// broker's uplink: at N = 1,000 in 63 groups about 1 MB a rebuild; once a second that flooded a 1 Mbit/s uplink (0 of
/// 1,000 devices updated in 120 s, 12.5 MB of tables), once every 5 s all 1,000 finished in 51 s. On protocol v2 the
/// tables wait until <paramref name="ready"/>: the scheduler laid its trees over the devices that will take data before
/// any may (RolloutScheduler.TreesAhead: they go out with the hash list), every live target holds the list, or
/// <see cref="ListWait"/> passed. (Trees laid over the devices holding the list while it still spread named only those
/// and went out again, whole, 7 s later: N = 1,000 in 63 groups, 922 KB of tables instead of 480 KB.) Tables that went
/// out ahead name devices that may not hold the list yet: when the trees change after that (the settle time passed
/// before every device held it), the new tables go out at once, not after ready or the interval, so the devices forward
/// as the scheduler predicts. A tree relay copy that comes before its group's table is owed and sent when the table
/// arrives. Called from the run loop only.
/// </summary>
internal sealed class RelayTreePublisher(IBrokerPort broker, RolloutScheduler scheduler, uint imageId, TimeProvider time, Func<bool>? ready = null)
{
    /// <summary>The longest the tables wait for every live target to hold the hash list (protocol v2).</summary>
    public static readonly TimeSpan ListWait = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan MinInterval = TimeSpan.FromSeconds(5);
    /// <summary>What went out, by topic: group tables (retained) and device tables (on the device's in-topic).</summary>
    private readonly Dictionary<string, (byte[] Bytes, bool Retain)> _tables = new();
    private uint _epochPublished;
    private bool _lost;
    private long _publishedAt;
    /// <summary>The tables out now were laid over the devices that will take data, before any could
    /// (RolloutScheduler.TreesAhead).</summary>
    private bool _ahead;

    public async Task PublishAsync(CancellationToken ct)
    {
        uint epoch = scheduler.TreeEpoch;
        if (epoch == _epochPublished && !_lost) return;
        bool ahead = scheduler.TreesAhead;
        bool leavingAhead = _ahead && !ahead; // the first trees over the live fleet after tables laid ahead: out at once
        if (!leavingAhead && _publishedAt != 0 && time.GetElapsedTime(_publishedAt) < MinInterval) return;
        if (ready != null && !leavingAhead && !ready()) return;
        var (groups, devices) = scheduler.PublishedRelayTables(imageId);
        var tables = new Dictionary<string, (byte[] Bytes, bool Retain)>();
        foreach (var t in groups) tables[Topics.GroupTree(t.GroupId)] = (t.ToBytes(), true);
        foreach (var (node, t) in devices) tables[Topics.DeviceIn(node)] = (t.ToBytes(), false);
        // What is no longer wanted goes first: a retained group table is cleared (a device reads an empty retained
        // table as "taken back", and a table of its own sent after it must not be undone by it); a device table sent
        // on an in-topic cannot be taken back and is only forgotten.
        foreach (var (topic, old) in _tables.Where(kv => !tables.ContainsKey(kv.Key)).ToList())
        {
            if (old.Retain) await broker.PublishAsync(topic, Array.Empty<byte>(), retain: true, ct: ct);
            _tables.Remove(topic);
        }
        foreach (var (topic, table) in tables)
        {
            if (_tables.TryGetValue(topic, out var old) && old.Bytes.AsSpan().SequenceEqual(table.Bytes)) continue;
            await broker.PublishAsync(topic, table.Bytes, retain: table.Retain, ct: ct);
            _tables[topic] = table;
        }
        _epochPublished = epoch;
        scheduler.TablesPublished(epoch);
        _lost = false;
        _publishedAt = time.GetTimestamp();
        _ahead = ahead;
    }

    /// <summary>The broker may have restarted and lost its retained tables: publish them all again.</summary>
    public void Forget()
    {
        _tables.Clear();
        _lost = true;
    }
}
