using System.Collections.Concurrent;
using System.Security.Cryptography;
using IotOta.Gateway.Fleet;
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
/// arrives. On protocol v2 (<paramref name="registry"/> set, issue #15) a level-1 table that names children does not go
/// to every member through the broker: the group topic gets its 32-byte <see cref="RelayTreeDigest"/> (retained, cleared
/// like a table), and then the table itself goes, not retained, to one member (the seed,
/// <see cref="RolloutScheduler.TableSeed"/>) on its in-topic; the seed passes it down its group's copy tree, and a member
/// takes it only when it matches the digest. It goes to the seed again when the table's bytes or the seed change. A
/// device that holds the digest but not the table asks (PieceRequest WhatRelayTable, <see cref="OnRequest"/>) and gets
/// the table on its in-topic, at most once every <see cref="AnswerInterval"/>. Empty tables (a digest would be larger),
/// the tables of deeper groups and v1 rollouts go as above. Called from the run loop only (but
/// <see cref="OnRequest"/>).
/// </summary>
/// <param name="registry">protocol v2: level-1 tables with children go as digests, and a requester's group comes from
/// here; null (v1): every group table goes whole</param>
internal sealed class RelayTreePublisher(IBrokerPort broker, RolloutScheduler scheduler, uint imageId, TimeProvider time, Func<bool>? ready = null,
    DeviceRegistry? registry = null)
{
    /// <summary>The longest the tables wait for every live target to hold the hash list (protocol v2).</summary>
    public static readonly TimeSpan ListWait = TimeSpan.FromSeconds(10);

    /// <summary>The shortest time between two answers to one device's table requests.</summary>
    public static readonly TimeSpan AnswerInterval = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan MinInterval = TimeSpan.FromSeconds(5);
    private const int AnswersPerPass = 64;
    /// <summary>What went out, by topic: group tables (retained) and device tables (on the device's in-topic).</summary>
    private readonly Dictionary<string, (byte[] Bytes, bool Retain)> _tables = new();
    /// <summary>Protocol v2, per group whose table went as a digest: the seed that got the whole table, and the table
    /// (what a request is answered with).</summary>
    private readonly Dictionary<int, (uint Seed, byte[] Table)> _seeded = new();
    /// <summary>Devices that asked for their group's table (PieceRequest WhatRelayTable), and when each was last answered.</summary>
    private readonly ConcurrentQueue<uint> _requests = new();
    private readonly Dictionary<uint, long> _answeredAt = new();
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
        // v2: by group topic, the group, its seed and the whole table that follows the digest
        var seeds = new Dictionary<string, (int Group, uint Seed, byte[] Table)>();
        foreach (var t in groups)
        {
            byte[] bytes = t.ToBytes();
            string topic = Topics.GroupTree(t.GroupId);
            if (registry != null && t.ChildCount > 0 && scheduler.TableSeed(t.GroupId) is uint seed)
            {
                tables[topic] = (DigestOf(t, bytes), true);
                seeds[topic] = (t.GroupId, seed, bytes);
            }
            else tables[topic] = (bytes, true);
        }
        foreach (var (node, t) in devices) tables[Topics.DeviceIn(node)] = (t.ToBytes(), false);
        // What is no longer wanted goes first: a retained group table is cleared (a device reads an empty retained
        // table as "taken back", and a table of its own sent after it must not be undone by it); a device table sent
        // on an in-topic cannot be taken back and is only forgotten.
        foreach (var (topic, old) in _tables.Where(kv => !tables.ContainsKey(kv.Key)).ToList())
        {
            if (old.Retain) await broker.PublishAsync(topic, Array.Empty<byte>(), retain: true, ct: ct);
            _tables.Remove(topic);
        }
        foreach (int g in _seeded.Keys.Where(g => !seeds.ContainsKey(Topics.GroupTree(g))).ToList()) _seeded.Remove(g);
        foreach (var (topic, table) in tables)
        {
            if (!_tables.TryGetValue(topic, out var old) || !old.Bytes.AsSpan().SequenceEqual(table.Bytes))
            {
                await broker.PublishAsync(topic, table.Bytes, retain: table.Retain, ct: ct);
                _tables[topic] = table;
            }
            // v2: the whole table after its digest, to the seed, again when the table or the seed changed
            if (!seeds.TryGetValue(topic, out var s)) continue;
            if (_seeded.TryGetValue(s.Group, out var sent) && sent.Seed == s.Seed && sent.Table.AsSpan().SequenceEqual(s.Table)) continue;
            await broker.PublishAsync(Topics.DeviceIn(s.Seed), s.Table, retain: false, qos: BrokerQos.AtLeastOnce, ct: ct);
            _seeded[s.Group] = (s.Seed, s.Table);
        }
        _epochPublished = epoch;
        scheduler.TablesPublished(epoch);
        _lost = false;
        _publishedAt = time.GetTimestamp();
        _ahead = ahead;
    }

    /// <summary>The broker may have restarted and lost its retained tables: publish them all again (on v2 the digests,
    /// and the tables to their seeds).</summary>
    public void Forget()
    {
        _tables.Clear();
        _seeded.Clear();
        _lost = true;
    }

    /// <summary>Protocol v2: a device asks for its group's table (it holds the digest, not the table). Requests for
    /// another image, or on v1, are ignored. Any thread.</summary>
    public void OnRequest(PieceRequest r)
    {
        if (registry == null || r.ImageId != imageId || r.What != PieceRequest.WhatRelayTable) return;
        _requests.Enqueue(r.NodeId);
    }

    /// <summary>Answers table requests: the whole table of the requester's group (the registry's), as its digest named
    /// it, on the requester's in-topic, not retained; nothing for a device whose group's table went whole or not at all,
    /// nor to a device answered less than <see cref="AnswerInterval"/> ago. True when something went out.</summary>
    public async Task<bool> AnswerAsync(CancellationToken ct)
    {
        bool worked = false;
        long now = time.GetTimestamp();
        for (int n = 0; n < AnswersPerPass && _requests.TryDequeue(out uint node); n++)
        {
            if (registry?.Get(node) is not { } d || !_seeded.TryGetValue(d.GroupId, out var s)) continue;
            if (_answeredAt.TryGetValue(node, out long at) && time.GetElapsedTime(at, now) < AnswerInterval) continue;
            // As a copy flagged FlagTable | FlagRepair: the device keeps it to itself. The bare table on its in-topic is
            // what makes a device its group's seed, and every member that asks would pass it to the whole group again.
            await broker.PublishAsync(Topics.DeviceIn(node), AnswerOf(imageId, s.Table), retain: false, qos: BrokerQos.AtLeastOnce, ct: ct);
            _answeredAt[node] = now;
            worked = true;
        }
        return worked;
    }

    /// <summary>The answer to a table request: a copy (sender 0, the gateway) whose payload is the table.</summary>
    internal static byte[] AnswerOf(uint imageId, byte[] table)
    {
        var buf = new byte[DataPacket.EncodedLength(0, table.Length)];
        DataPacket.Write(new WireWriter(buf), MessageType.Copy, imageId, 0, (byte)(DataPacket.FlagTable | DataPacket.FlagRepair), 0, 0,
            null, null, null, table, 0, table.Length);
        return buf;
    }

    /// <summary>The digest of a table: which one (image, group, epoch, length) and the first 16 bytes of SHA-256 over
    /// its bytes.</summary>
    private static byte[] DigestOf(RelayTree t, byte[] table)
    {
        var d = new RelayTreeDigest { ImageId = t.ImageId, GroupId = t.GroupId, Epoch = t.Epoch, TableLength = table.Length };
        SHA256.HashData(table).AsSpan(0, RelayTreeDigest.DigestLength).CopyTo(d.Digest);
        var buf = new byte[RelayTreeDigest.EncodedLength];
        d.Encode(buf, 0);
        return buf;
    }
}
