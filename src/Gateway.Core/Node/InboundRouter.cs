using IotOta.Gateway.Fleet;
using IotOta.Gateway.Rollouts;
using IotOta.Shared.Chunking;
using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Node;

/// <summary>
/// Decodes every message the broker hands the gateway and routes it: presence and progress to the device registry (and
/// the store), what a device holds (reports, repair requests, notices) to the <see cref="HeldPacketLedger"/>, receipt notices and repair requests to the
/// rollout in progress; presences and progress reports also to the <see cref="DeviceCatchUp"/>. A message whose node id does not match its topic, or of a type a device does not send, is
/// rejected (counted and logged), never thrown.
/// </summary>
public sealed class InboundRouter(DeviceRegistry registry, HeldPacketLedger ledger, Func<RolloutEngine?> rollout, INodeStore? store = null,
    Action<string>? log = null, DeviceCatchUp? catchUp = null, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Presence _presence = new();
    private readonly ProgressReport _progress = new();
    private readonly ReceiptNotice _notice = new();
    private readonly RepairRequest _repair = new();
    private readonly PieceRequest _pieceRequest = new();
    private readonly NoticeBatch _noticeBatch = new();
    /// <summary>Per device, the base time of its last compact notice batch and when it came (a TimeProvider
    /// timestamp; <see cref="FromTopic"/>).</summary>
    private readonly Dictionary<uint, (long BaseMs, long At)> _lastBase = new();
    private long _rejected;

    /// <summary>Messages rejected so far.</summary>
    public long Rejected => Interlocked.Read(ref _rejected);

    public void Route(string topic, byte[] payload)
    {
        try
        {
            if (ArmoredMessage.IsArmored(payload, 0, payload.Length))
            {
                // a board's last will comes as text (M2Mqtt encodes the will string as UTF-8): "IOX:" + hex
                var plain = new byte[ArmoredMessage.DecodedLength(payload.Length)];
                ArmoredMessage.Decode(payload, 0, payload.Length, plain, 0);
                payload = plain;
            }
            switch (WireHeader.Peek(payload, 0, payload.Length))
            {
                case MessageType.Presence:
                    _presence.Parse(payload, 0, payload.Length);
                    CheckNode(_presence.NodeId, topic, "presence");
                    registry.OnPresence(_presence);
                    if (_presence.Online) catchUp?.OnPresence(_presence.NodeId, _presence.GroupId);
                    if (store != null && registry.Get(_presence.NodeId) is { } rec) store.SaveDevice(rec);
                    break;
                case MessageType.ProgressReport:
                    _progress.Parse(payload, 0, payload.Length);
                    CheckNode(_progress.NodeId, topic, "progress");
                    registry.OnProgress(_progress);
                    catchUp?.OnReport(_progress.NodeId, _progress.ImageId);
                    if (_progress.ImageId != 0 && _progress.ChunkCount > 0)
                    {
                        var bits = new byte[PacketBitmap.ByteLength(_progress.ChunkCount)];
                        if (_progress.BitmapBuffer != null) Array.Copy(_progress.BitmapBuffer, _progress.BitmapOffset, bits, 0, bits.Length);
                        else for (int i = 0; i < _progress.ChunkCount && _progress.HeldCount == _progress.ChunkCount; i++) bits[i >> 3] |= (byte)(1 << (i & 7));
                        ledger.Learn(_progress.NodeId, _progress.ImageId, _progress.ChunkCount, bits);
                    }
                    break;
                case MessageType.ReceiptNotice:
                    _notice.Parse(payload, 0, payload.Length);
                    CheckNode(_notice.NodeId, topic, "notice");
                    OnNotice(_notice);
                    break;
                case MessageType.RepairRequest:
                    _repair.Parse(payload, 0, payload.Length);
                    CheckNode(_repair.NodeId, topic, "repair request");
                    if (_repair.ChunkCount > 0)
                    {
                        var bits = new byte[PacketBitmap.ByteLength(_repair.ChunkCount)];
                        for (int i = 0; i < _repair.ChunkCount; i++) if (!_repair.IsMissing(i)) bits[i >> 3] |= (byte)(1 << (i & 7));
                        ledger.Learn(_repair.NodeId, _repair.ImageId, _repair.ChunkCount, bits, whole: true);
                    }
                    rollout()?.OnRepairRequest(_repair);
                    break;
                case MessageType.PieceRequest:
                    _pieceRequest.Parse(payload, 0, payload.Length);
                    CheckNode(_pieceRequest.NodeId, topic, "piece request");
                    rollout()?.OnPieceRequest(_pieceRequest);
                    break;
                case MessageType.NoticeBatch:
                case MessageType.CompactNoticeBatch:
                    _noticeBatch.Parse(payload, 0, payload.Length);
                    if (_noticeBatch.Compact) FromTopic(_noticeBatch, topic);
                    else CheckNode(_noticeBatch.NodeId, topic, "notice batch");
                    for (int i = 0; i < _noticeBatch.Count; i++)
                    {
                        _noticeBatch.Get(i, _notice);
                        OnNotice(_notice);
                    }
                    break;
                default:
                    if (payload.Length == 0) return; // a cleared retained message
                    throw new ProtocolException(ProtocolError.UnexpectedType, $"unexpected message on {topic}");
            }
        }
        catch (ProtocolException e)
        {
            Interlocked.Increment(ref _rejected);
            log?.Invoke($"rejected message on {topic}: {e.Message}");
        }
    }

    /// <summary>A receipt notice goes to the rollout, and the packet it names is known held by its sender.</summary>
    private void OnNotice(ReceiptNotice n)
    {
        if (rollout() is not { } r) return;
        r.OnNotice(n);
        if (n.ImageId == r.Image.ImageId) ledger.Noticed(n.NodeId, n.ImageId, r.Image.ChunkCount, n.Index);
    }

    /// <summary>A compact batch's node is its out topic's; its base time's high bits are those of the time nearest to
    /// where the device's clock should be now: its previous batch's base plus the gateway's time since (a device clock
    /// wraps the low 32 bits every 49.7 days, and a device may send nothing for longer between rollouts).</summary>
    private void FromTopic(NoticeBatch batch, string topic)
    {
        uint node = Topics.NodeIdOf(topic);
        if (node == 0 || topic != Topics.DeviceOut(node)) throw new ProtocolException(ProtocolError.FieldOutOfRange, $"compact notice batch on {topic}, not on a device's out topic");
        batch.NodeId = node;
        long full = _lastBase.TryGetValue(node, out var last)
            ? NoticeBatch.Unwrap(batch.BaseTimeMs, last.BaseMs + (long)_time.GetElapsedTime(last.At).TotalMilliseconds)
            : batch.BaseTimeMs;
        batch.Rebase(full);
        _lastBase[node] = (full, _time.GetTimestamp());
    }

    private static void CheckNode(uint node, string topic, string what)
    {
        if (node != Topics.NodeIdOf(topic)) throw new ProtocolException(ProtocolError.FieldOutOfRange, $"{what} for node {node} on {topic}");
    }
}
