using System.Collections.Concurrent;
using IotOta.Gateway.Fleet;
using IotOta.Gateway.Images;
using IotOta.Shared.Protocol;
using MQTTnet.Protocol;

namespace IotOta.Gateway.Rollouts;

/// <summary>
/// Protocol v2 (issue #15, <see cref="RolloutOptions.Root"/> set): each target group's retained topic gets the
/// 160-byte signed <see cref="ImageRoot"/> instead of the manifest; the chunk-hash list goes out once for the fleet
/// as hash-piece originals (one device of the first group, naming one device of each other group as relay, ⌈G/9⌉
/// originals per piece), the devices pass it on like data; a device becomes a root or relay for data only once it
/// reported holding the whole verified list (its progress names the image); a device that misses pieces asks its
/// peers and, last, the gateway (<see cref="OnPieceRequest"/>).
/// </summary>
public sealed partial class RolloutEngine
{
    private readonly HashSet<int> _pieceGroups = new();
    private readonly ConcurrentQueue<(uint Node, int First, int Count)> _pieceRequests = new();
    private int _holdingRoot = -1;
    private bool _rootSettled;
    private long _piecesSent, _pieceAnswers;

    private bool UsesRoot => _options.Root != null;

    /// <summary>Hash-piece originals sent and piece answers to device requests (control over the first network).</summary>
    public (long Originals, long Answers) HashPieces => (Interlocked.Read(ref _piecesSent), Interlocked.Read(ref _pieceAnswers));

    private async Task PublishRootsAsync(CancellationToken ct)
    {
        ImageRootSet root = _options.Root!;
        List<int> groups;
        lock (_gate) groups = _targetGroups.Where(g => !_manifestGroups.Contains(g)).ToList();
        foreach (int g in groups)
        {
            await _mqtt.PublishAsync(Topics.GroupRoot(g), root.RootBytes, retain: true, ct: ct);
            lock (_gate) _manifestGroups.Add(g);
        }
        List<int> fresh;
        lock (_gate) fresh = _targetGroups.Where(g => !_pieceGroups.Contains(g)).ToList();
        if (fresh.Count == 0) return;
        // One online device per group that has none of the pieces yet: the first of the first group is the root of
        // each piece's original, one device of each other group a relay (the device core passes a relay copy on to its
        // members like a chunk).
        var seeds = _destinations.Members.Where(m => fresh.Contains(m.GroupId) && IsTarget(m.NodeId, m.GroupId))
            .GroupBy(m => m.GroupId).OrderBy(g => g.Key).Select(g => g.First()).ToList();
        for (int b = 0; b < seeds.Count; b += 1 + DataPacket.MaxTargets)
        {
            var batch = seeds.Skip(b).Take(1 + DataPacket.MaxTargets).ToList();
            for (int p = 0; p < root.PieceCount; p++)
            {
                await _mqtt.PublishAsync(Topics.DeviceIn(batch[0].NodeId), PiecePacket(root, p, MessageType.Original, 0, batch.Skip(1).ToList()),
                    qos: MqttQualityOfServiceLevel.AtMostOnce, ct: ct);
                Interlocked.Increment(ref _piecesSent);
            }
        }
        lock (_gate) foreach (var s in seeds) _pieceGroups.Add(s.GroupId);
    }

    private readonly HashSet<int> _rootCleared = new();

    /// <summary>Once every online target of a group holds the list, the group's retained root is cleared: a device that
    /// restarts into the new image (and subscribes again) is not sent it a second time. A group where a device turns
    /// up without the list gets its root again.</summary>
    private async Task ClearHeldRootsAsync(CancellationToken ct)
    {
        if (!UsesRoot) return;
        List<int> published;
        lock (_gate) published = _manifestGroups.ToList();
        foreach (int g in published)
        {
            var members = _destinations.Members.Where(m => m.GroupId == g && IsTarget(m.NodeId, m.GroupId)).ToList();
            bool all = members.Count > 0 && members.All(m => _registry.Get(m.NodeId) is { } d && (d.ImageId == _image.ImageId || IsUpdated(d)));
            bool cleared;
            lock (_gate) cleared = _rootCleared.Contains(g);
            if (all && !cleared)
            {
                await _mqtt.PublishAsync(Topics.GroupRoot(g), Array.Empty<byte>(), retain: true, ct: ct);
                lock (_gate) _rootCleared.Add(g);
            }
            else if (!all && cleared)
            {
                lock (_gate)
                {
                    _rootCleared.Remove(g);
                    _manifestGroups.Remove(g); // published again on the next pass
                }
            }
        }
    }

    private static byte[] PiecePacket(ImageRootSet root, int p, MessageType type, byte flags, IReadOnlyList<FleetMember> relays)
    {
        byte[] piece = root.Piece(p);
        var buf = new byte[DataPacket.EncodedLength(relays.Count, piece.Length)];
        DataPacket.Write(new WireWriter(buf), type, root.ImageId, p, (byte)(DataPacket.FlagHashPiece | flags), 0, relays.Count,
            relays.Select(r => r.NodeId).ToArray(), relays.Select(r => r.Ip).ToArray(), relays.Select(r => r.Port).ToArray(), piece, 0, piece.Length);
        return buf;
    }

    /// <summary>With v2, only devices that reported the image (they hold the verified hash list) take originals and relay
    /// copies of data; the others get their data from their group once they hold it.</summary>
    /// <summary>Until every live device holds the list (or <see cref="RolloutOptions.ReconnectSettle"/> passed since the
    /// start) nothing is planned: a packet planned while only some groups can take it needs a second original later.</summary>
    private IReadOnlyList<FleetMember> HoldingRoot(IReadOnlyList<FleetMember> live)
    {
        if (!UsesRoot) return live;
        var holding = live.Where(m => _registry.Get(m.NodeId) is { } d && (d.ImageId == _image.ImageId || IsUpdated(d))).ToList();
        bool settling = _time.GetElapsedTime(_startTimestamp) < _options.ReconnectSettle;
        return holding.Count == live.Count || !settling ? holding : [];
    }

    /// <summary>True when more devices hold the list than at the last call (the plan must take them in).</summary>
    private bool HoldingRootChanged()
    {
        if (!UsesRoot) return false;
        if (!_rootSettled && _time.GetElapsedTime(_startTimestamp) >= _options.ReconnectSettle)
        {
            _rootSettled = true; // from now on the plan takes whoever holds the list
            return true;
        }
        int n = _registry.All().Count(d => d.ImageId == _image.ImageId || IsUpdated(d));
        if (n == _holdingRoot) return false;
        _holdingRoot = n;
        return true;
    }

    /// <summary>A device asked the gateway (last) for hash pieces its peers did not give it.</summary>
    public void OnPieceRequest(PieceRequest r)
    {
        if (!UsesRoot || r.ImageId != _image.ImageId || r.What != PieceRequest.WhatHashPieces) return;
        _pieceRequests.Enqueue((r.NodeId, r.First, r.Count));
        _wake.Release();
    }

    private async Task AnswerPieceRequestsAsync(CancellationToken ct)
    {
        if (!UsesRoot) return;
        ImageRootSet root = _options.Root!;
        for (int n = 0; n < 16 && _pieceRequests.TryDequeue(out var q); n++)
        {
            for (int p = q.First; p < q.First + q.Count && p < root.PieceCount; p++)
            {
                await _mqtt.PublishAsync(Topics.DeviceIn(q.Node), PiecePacket(root, p, MessageType.Copy, DataPacket.FlagRepair, []),
                    qos: MqttQualityOfServiceLevel.AtMostOnce, ct: ct);
                Interlocked.Increment(ref _pieceAnswers);
            }
        }
    }
}
