using System.Collections.Concurrent;
using IotOta.Gateway.Fleet;
using IotOta.Gateway.Images;
using IotOta.Gateway.Node;
using IotOta.Gateway.Scheduling;
using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Rollouts.Run;

/// <summary>
/// Protocol v2 (issue #15, <see cref="RolloutOptions.Root"/> set), in place of <see cref="ManifestPublisher"/>: the
/// chunk-hash list goes out once for the fleet as hash-piece originals (piece p first to group p mod G, naming one
/// member of each other group as relay: ⌈G/9⌉ originals per piece), and the devices pass it on like data. The 160-byte
/// signed <see cref="ImageRoot"/> goes, on the same in-topic just before, to each piece original's receiver only (not
/// retained); every device that passes a piece on sends the root ahead of it on the same connection, so the relays and
/// members have it before the piece they must check. A target still without the list <see cref="StragglerAfter"/>
/// after its group was seeded gets the root directly. A device takes data originals and relay copies only
/// once it reported holding the whole verified list (<see cref="Holding"/>); a device that misses pieces asks its
/// peers and, last, the gateway (<see cref="OnRequest"/>).
/// </summary>
internal sealed class RootPublisher(IBrokerPort broker, DeviceRegistry registry, DestinationList destinations, FirmwareImage image,
    RolloutOptions options, RolloutTargets targets, TimeProvider time, Func<RelayForest?>? pieceForest = null)
{
    private readonly ImageRootSet _root = options.Root!;
    private readonly object _gate = new();
    private readonly HashSet<int> _published = new(), _pieceGroups = new();
    private readonly ConcurrentQueue<(uint Node, int First, int Count)> _requests = new();
    private readonly long _start = time.GetTimestamp();
    private int _holding = -1;
    private bool _settled;
    private TimeSpan? _allHeld;
    private readonly Dictionary<int, long> _groupSeededAt = new();
    private readonly Dictionary<uint, long> _rootSentAt = new();

    /// <summary>How long after a group was seeded a member still without the list gets the root directly.</summary>
    public static readonly TimeSpan StragglerAfter = TimeSpan.FromSeconds(5);

    /// <summary>Roots sent directly to devices that lacked the list (see <see cref="StragglerAfter"/>).</summary>
    public int RootsToStragglers { get; private set; }

    /// <summary>When every live target first held the whole verified hash list (data waits for that), from the start.</summary>
    public TimeSpan? AllHeldAfter => _allHeld;

    private bool Holds(uint node) => registry.Get(node) is { } d && (d.ImageId == image.ImageId || d.Runs(image));

    public async Task PublishAsync(CancellationToken ct)
    {
        List<int> groups;
        lock (_gate) groups = targets.Groups().Where(g => !_published.Contains(g)).ToList();
        foreach (int g in groups)
        {
            var members = destinations.Members.Where(m => m.GroupId == g && targets.IsTarget(m.NodeId, m.GroupId)).OrderBy(m => m.NodeId).ToList();
            if (members.Count == 0) continue;
            bool piecesSent;
            lock (_gate) piecesSent = _pieceGroups.Contains(g);
            if (piecesSent)
            {
                // Seeded again (the broker came back, Forget): the pieces went out before, so the members each piece
                // landed on first (member p mod size for piece p) get the root again and pass it on.
                foreach (var seed in Enumerable.Range(0, Math.Min(_root.PieceCount, members.Count)).Select(p => members[p]))
                    await SendRootAsync(seed.NodeId, null, ct);
            }
            broker.Retained?.KeepRoot(g, _root.RootBytes); // for a device that comes back without it (DeviceCatchUp)
            lock (_gate)
            {
                _published.Add(g);
                _groupSeededAt[g] = time.GetTimestamp();
            }
        }
        List<int> fresh;
        lock (_gate) fresh = targets.Groups().Where(g => !_pieceGroups.Contains(g)).ToList();
        if (fresh.Count == 0) return;
        var seedGroups = destinations.Members.Where(m => fresh.Contains(m.GroupId) && targets.IsTarget(m.NodeId, m.GroupId))
            .GroupBy(m => m.GroupId).OrderBy(g => g.Key).Select(g => g.OrderBy(m => m.NodeId).ToList()).ToList();
        int n = seedGroups.Count;
        var rooted = new HashSet<uint>();
        // Down the relay trees when their tables went out and cover exactly these groups: one original per piece.
        RelayForest? forest = pieceForest?.Invoke();
        var byGroup = seedGroups.ToDictionary(g => g[0].GroupId);
        if (forest != null && forest.GroupIds.Count == n && forest.GroupIds.All(byGroup.ContainsKey))
        {
            for (int p = 0; p < _root.PieceCount; p++)
            {
                // Piece p goes down tree p mod T as packet p would: the root group's and the root's children's member
                // p (mod its size) are the original's receiver and named relays; deeper groups get it from the
                // candidate their parent's table names for p. Every device that passes it on sends the root ahead.
                int t = forest.TreeOf(p);
                FleetMember Pick(int position)
                {
                    var members = byGroup[forest.GroupAt(t, position)];
                    return members[p % members.Count];
                }
                FleetMember receiver = Pick(0);
                var relays = Enumerable.Range(1, Math.Min(RelayForest.FanOut, n - 1)).Select(Pick).ToList();
                if (rooted.Add(receiver.NodeId)) await SendRootAsync(receiver.NodeId, null, ct);
                await broker.PublishAsync(Topics.DeviceIn(receiver.NodeId), Packet(p, MessageType.Original, DataPacket.FlagTree, relays), qos: BrokerQos.AtMostOnce, ct: ct);
            }
            lock (_gate) foreach (var g in seedGroups) _pieceGroups.Add(g[0].GroupId);
            return;
        }
        for (int p = 0; p < _root.PieceCount && n > 0; p++)
        {
            // Piece p starts in group p mod G and lands on member p (mod its size) of every group, its original's
            // target and its relays alike: each piece's in-group copies leave another member's uplink, instead of one
            // member per group passing every piece on.
            var picks = Enumerable.Range(0, n).Select(i => seedGroups[(p + i) % n]).Select(g => g[p % g.Count]).ToList();
            for (int b = 0; b < picks.Count; b += 1 + DataPacket.MaxTargets)
            {
                var batch = picks.Skip(b).Take(1 + DataPacket.MaxTargets).ToList();
                // The root only to the original's receiver, just before the piece on the same topic: it sends the root
                // ahead of each relay copy and member copy itself (160 B of first network per original, not per group).
                if (rooted.Add(batch[0].NodeId)) await SendRootAsync(batch[0].NodeId, null, ct);
                await broker.PublishAsync(Topics.DeviceIn(batch[0].NodeId), Packet(p, MessageType.Original, 0, batch.Skip(1).ToList()), qos: BrokerQos.AtMostOnce, ct: ct);
            }
        }
        lock (_gate) foreach (var g in seedGroups) _pieceGroups.Add(g[0].GroupId);
    }

    /// <summary>The signed root on a device's in-topic (not retained); remembers when it went (<paramref name="at"/>, or
    /// once it went).</summary>
    private async Task SendRootAsync(uint node, long? at, CancellationToken ct)
    {
        await broker.PublishAsync(Topics.DeviceIn(node), _root.RootBytes, ct: ct);
        lock (_gate) _rootSentAt[node] = at ?? time.GetTimestamp();
    }

    private byte[] Packet(int p, MessageType type, byte flags, IReadOnlyList<FleetMember> relays)
    {
        byte[] piece = _root.Piece(p);
        var buf = new byte[DataPacket.EncodedLength(relays.Count, piece.Length)];
        DataPacket.Write(new WireWriter(buf), type, _root.ImageId, p, (byte)(DataPacket.FlagHashPiece | flags), 0, relays.Count,
            relays.Select(r => r.NodeId).ToArray(), relays.Select(r => r.Ip).ToArray(), relays.Select(r => r.Port).ToArray(), piece, 0, piece.Length);
        return buf;
    }

    /// <summary>The devices that may take data: those holding the list; none at all until every live device holds it
    /// or <see cref="RolloutOptions.ReconnectSettle"/> passed (a packet planned while only some groups can take it needs
    /// a second original later).</summary>
    public IReadOnlyList<FleetMember> Holding(IReadOnlyList<FleetMember> live)
    {
        var holding = live.Where(m => Holds(m.NodeId)).ToList();
        if (_allHeld == null && live.Count > 0 && holding.Count == live.Count) _allHeld = time.GetElapsedTime(_start);
        bool settling = time.GetElapsedTime(_start) < options.ReconnectSettle;
        return holding.Count == live.Count || !settling ? holding : [];
    }

    /// <summary>True when the plan must take devices in again: more hold the list, or the settle time just passed.</summary>
    public bool Changed()
    {
        if (!_settled && time.GetElapsedTime(_start) >= options.ReconnectSettle)
        {
            _settled = true;
            return true;
        }
        int n = registry.All().Count(d => d.ImageId == image.ImageId || d.Runs(image));
        if (n == _holding) return false;
        _holding = n;
        return true;
    }

    /// <summary>A device asked the gateway (last) for pieces its peers did not give it.</summary>
    public void OnRequest(PieceRequest r)
    {
        if (r.ImageId != image.ImageId || r.What != PieceRequest.WhatHashPieces) return;
        _requests.Enqueue((r.NodeId, r.First, r.Count));
    }

    /// <summary>Answers piece requests (repair copies on the device's in-topic) and sends the root to stragglers.</summary>
    public async Task<bool> SendAsync(CancellationToken ct)
    {
        bool worked = false;
        for (int n = 0; n < 16 && _requests.TryDequeue(out var q); n++)
        {
            for (int p = q.First; p < q.First + q.Count && p < _root.PieceCount; p++)
                await broker.PublishAsync(Topics.DeviceIn(q.Node), Packet(p, MessageType.Copy, DataPacket.FlagRepair, []), qos: BrokerQos.AtMostOnce, ct: ct);
            worked = true;
        }
        // A target still without the list StragglerAfter after its group was seeded (it missed its seed's copy, joined
        // late, or its seed is gone) gets the root directly, again every StragglerAfter while it lacks the list.
        // One pass over the members, only those of groups seeded StragglerAfter ago (per group over every member, each
        // run-loop pass, it was 9 % of the host's two cores at N = 1,000 in 63 groups, in perf).
        long now = time.GetTimestamp();
        HashSet<int> due;
        lock (_gate) due = _published.Where(g => time.GetElapsedTime(_groupSeededAt.GetValueOrDefault(g), now) >= StragglerAfter).ToHashSet();
        if (due.Count == 0) return worked;
        foreach (var m in destinations.Members)
        {
            if (!due.Contains(m.GroupId) || !targets.IsTarget(m.NodeId, m.GroupId) || Holds(m.NodeId)) continue;
            long last;
            lock (_gate) last = _rootSentAt.GetValueOrDefault(m.NodeId);
            if (last != 0 && time.GetElapsedTime(last, now) < StragglerAfter) continue;
            await SendRootAsync(m.NodeId, now, ct);
            RootsToStragglers++;
            worked = true;
        }
        return worked;
    }

    /// <summary>The broker may have restarted (the link came back): seed the groups again.</summary>
    public void Forget()
    {
        lock (_gate) _published.Clear();
    }

    /// <summary>An aborted rollout has nothing to take back on the broker (no root is retained there); the gateway stops
    /// handing its root to devices that come back.</summary>
    public Task ClearAsync(CancellationToken ct)
    {
        List<int> groups;
        lock (_gate) groups = _published.Concat(_groupSeededAt.Keys).Distinct().ToList();
        foreach (int g in groups)
            if (broker.Retained is { } kept && DeviceCatchUp.Announced(kept.ForGroup(g)).ImageId == image.ImageId) kept.KeepRoot(g, []);
        return Task.CompletedTask;
    }
}
