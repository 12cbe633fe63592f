using System.Collections.Concurrent;
using IotOta.Gateway.Fleet;
using IotOta.Gateway.Images;
using IotOta.Gateway.Node;
using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Rollouts.Run;

/// <summary>
/// Protocol v2 (issue #15, <see cref="RolloutOptions.Root"/> set), in place of <see cref="ManifestPublisher"/>: each
/// target group's retained topic gets the 160-byte signed <see cref="ImageRoot"/>; the chunk-hash list goes out once for
/// the fleet as hash-piece originals (to one device of the first group, naming one device of each other group as relay:
/// ⌈G/9⌉ originals per piece), and the devices pass it on like data. A device takes data originals and relay copies
/// only once it reported holding the whole verified list (<see cref="Holding"/>); a device that misses pieces asks its
/// peers and, last, the gateway (<see cref="OnRequest"/>). Once every target of a group holds the list its retained root
/// is cleared, so a device restarting into the new image is not sent it again.
/// </summary>
internal sealed class RootPublisher(IBrokerPort broker, DeviceRegistry registry, DestinationList destinations, FirmwareImage image,
    RolloutOptions options, RolloutTargets targets, TimeProvider time)
{
    private readonly ImageRootSet _root = options.Root!;
    private readonly object _gate = new();
    private readonly HashSet<int> _published = new(), _pieceGroups = new(), _cleared = new();
    private readonly ConcurrentQueue<(uint Node, int First, int Count)> _requests = new();
    private readonly long _start = time.GetTimestamp();
    private int _holding = -1;
    private bool _settled;
    private TimeSpan? _allHeld;

    /// <summary>When every live target first held the whole verified hash list (data waits for that), from the start.</summary>
    public TimeSpan? AllHeldAfter => _allHeld;

    private bool Holds(uint node) => registry.Get(node) is { } d && (d.ImageId == image.ImageId || d.Runs(image));

    public async Task PublishAsync(CancellationToken ct)
    {
        List<int> groups;
        lock (_gate) groups = targets.Groups().Where(g => !_published.Contains(g)).ToList();
        foreach (int g in groups)
        {
            await broker.PublishAsync(Topics.GroupRoot(g), _root.RootBytes, retain: true, ct: ct);
            lock (_gate) _published.Add(g);
        }
        List<int> fresh;
        lock (_gate) fresh = targets.Groups().Where(g => !_pieceGroups.Contains(g)).ToList();
        if (fresh.Count == 0) return;
        var seedGroups = destinations.Members.Where(m => fresh.Contains(m.GroupId) && targets.IsTarget(m.NodeId, m.GroupId))
            .GroupBy(m => m.GroupId).OrderBy(g => g.Key).Select(g => g.OrderBy(m => m.NodeId).ToList()).ToList();
        int n = seedGroups.Count;
        for (int p = 0; p < _root.PieceCount && n > 0; p++)
        {
            // Piece p starts in group p mod G, at a different member of each group for each round of G pieces, and
            // names one member of every other group as relay: the pieces' first copies spread over groups and
            // members instead of all leaving one device's uplink.
            var picks = Enumerable.Range(0, n).Select(i => seedGroups[(p + i) % n]).Select(g => g[p / n % g.Count]).ToList();
            for (int b = 0; b < picks.Count; b += 1 + DataPacket.MaxTargets)
            {
                var batch = picks.Skip(b).Take(1 + DataPacket.MaxTargets).ToList();
                await broker.PublishAsync(Topics.DeviceIn(batch[0].NodeId), Packet(p, MessageType.Original, 0, batch.Skip(1).ToList()), qos: BrokerQos.AtMostOnce, ct: ct);
            }
        }
        lock (_gate) foreach (var g in seedGroups) _pieceGroups.Add(g[0].GroupId);
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

    /// <summary>Answers piece requests (repair copies on the device's in-topic) and clears or restores the groups' roots.</summary>
    public async Task<bool> SendAsync(CancellationToken ct)
    {
        bool worked = false;
        for (int n = 0; n < 16 && _requests.TryDequeue(out var q); n++)
        {
            for (int p = q.First; p < q.First + q.Count && p < _root.PieceCount; p++)
                await broker.PublishAsync(Topics.DeviceIn(q.Node), Packet(p, MessageType.Copy, DataPacket.FlagRepair, []), qos: BrokerQos.AtMostOnce, ct: ct);
            worked = true;
        }
        List<int> published;
        lock (_gate) published = _published.ToList();
        foreach (int g in published)
        {
            var members = destinations.Members.Where(m => m.GroupId == g && targets.IsTarget(m.NodeId, m.GroupId)).ToList();
            bool all = members.Count > 0 && members.All(m => Holds(m.NodeId));
            bool cleared;
            lock (_gate) cleared = _cleared.Contains(g);
            if (all && !cleared)
            {
                await broker.PublishAsync(Topics.GroupRoot(g), Array.Empty<byte>(), retain: true, ct: ct);
                lock (_gate) _cleared.Add(g);
            }
            else if (!all && cleared)
            {
                lock (_gate)
                {
                    _cleared.Remove(g);
                    _published.Remove(g); // a device turned up without the list: the root again on the next pass
                }
            }
        }
        return worked;
    }

    /// <summary>The broker may have restarted and lost its retained messages: publish the roots again.</summary>
    public void Forget()
    {
        lock (_gate)
        {
            _published.Clear();
            _cleared.Clear();
        }
    }

    /// <summary>An aborted rollout takes its roots back.</summary>
    public async Task ClearAsync(CancellationToken ct)
    {
        List<int> groups;
        lock (_gate) groups = _published.ToList();
        foreach (int g in groups)
        {
            try
            {
                await broker.PublishAsync(Topics.GroupRoot(g), Array.Empty<byte>(), retain: true, ct: ct);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                return;
            }
        }
    }
}
