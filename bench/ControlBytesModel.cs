using IotOta.Gateway.Mqtt;
using IotOta.Shared.Protocol;
using MQTTnet.Protocol;

namespace IotOta.Bench;

/// <summary>
/// What the simulated rollout costs at the broker (issue #15), message by message as the gateway and the device core
/// send them — with <see cref="SignedRoot"/> (protocol v2, the demo's default) the 160-byte root once per piece seed of
/// each group (the seeds pass it on over the second network; nothing retained), the hash pieces once for
/// the fleet as originals with relays, and receipt notices in NoticeBatches (a device's notices within DeviceConfig.NoticeHoldMs, at most
/// NoticeBatchEntries, share one message); without it protocol v1: each PUBLISH sized by MQTTnet's encoder (MQTT 5, as the clients speak it):
/// data = the originals; control = per device the retained group manifest and relay table (twice: once when the
/// rollout starts, once more when the device restarts into the new image and subscribes again), its member list (again
/// after the restart), its presence (twice), a progress report per state change and per second of receiving, every
/// receipt notice, the PUBACKs of the devices' QoS 1 publishes and the reconnect after the restart. Checked against the
/// embedded broker's interceptor counts of a real run (tests/Bench.Tests).
/// </summary>
public sealed class ControlBytesModel
{
    private const int PubAck = 4;
    private const int ConnAck = 8;
    private readonly Dictionary<string, long> _sent = new(StringComparer.Ordinal), _received = new(StringComparer.Ordinal);
    private readonly Dictionary<uint, (long StartTicks, int Count)> _openBatch = new();

    private static readonly IotOta.DeviceFirmware.Agent.DeviceConfig DeviceDefaults = new();

    public ControlBytesModel(bool signedRoot) { SignedRoot = signedRoot; }

    public bool SignedRoot { get; }

    /// <summary>v2: pieces of the hash list (set by <see cref="Pieces"/>, which runs before the groups are counted).</summary>
    private int PieceCount { get; set; } = 1;

    private void Add(string kind, long sent, long received)
    {
        _sent[kind] = _sent.GetValueOrDefault(kind) + sent;
        _received[kind] = _received.GetValueOrDefault(kind) + received;
    }

    private static int Wire(string topic, int payload, bool qos1) =>
        MqttWireSize.OfPublish(topic, payload, qos1 ? MqttQualityOfServiceLevel.AtLeastOnce : MqttQualityOfServiceLevel.AtMostOnce);

    /// <summary>One original from the gateway to <paramref name="root"/> naming <paramref name="targets"/> relays.</summary>
    public void Original(uint root, int targets, int chunkLength)
    {
        int w = Wire(Topics.DeviceIn(root), DataPacket.FixedLength + 10 * targets + chunkLength, false);
        Add(BrokerTraffic.DataKind, w, w);
    }

    /// <summary>A receipt notice from <paramref name="node"/> to the gateway (received from the device, sent on to the gateway, PUBACK back).</summary>
    public void Notice(uint node, long ticks)
    {
        if (SignedRoot)
        {
            // DeviceConfig.NoticeHoldMs: a notice joins the device's open batch if it is younger than that and not full.
            if (_openBatch.TryGetValue(node, out var b) && ticks - b.StartTicks < DeviceDefaults.NoticeHoldMs * TimeSpan.TicksPerMillisecond && b.Count < DeviceDefaults.NoticeBatchEntries)
            {
                _openBatch[node] = (b.StartTicks, b.Count + 1);
                return;
            }
            CloseBatch(node);
            _openBatch[node] = (ticks, 1);
            return;
        }
        int w = Wire(Topics.DeviceOut(node), ReceiptNotice.EncodedLength, true);
        Add(nameof(MessageType.ReceiptNotice), w, w);
        Add(BrokerTraffic.SessionKind, 2 * PubAck, 2 * PubAck);
    }

    private void CloseBatch(uint node)
    {
        if (!_openBatch.Remove(node, out var b)) return;
        // A device's batches are CompactNoticeBatches at QoS 0 (NoticeBatcher): no PUBACK either way.
        int w = Wire(Topics.DeviceOut(node), NoticeBatch.CompactEncodedLength(b.Count), false);
        Add(nameof(MessageType.CompactNoticeBatch), w, w);
    }

    /// <summary>v2: the hash pieces, each once per ⌈G/9⌉ groups as an original naming relays.</summary>
    public void Pieces(int groups, int chunkCount, int chunkSize)
    {
        if (!SignedRoot) return;
        int perPiece = ImageRoot.HashesPerPieceFitting(chunkSize, chunkCount), pieces = (chunkCount + perPiece - 1) / perPiece;
        PieceCount = pieces;
        for (int b = 0; b < groups; b += 1 + DataPacket.MaxTargets)
        {
            int relays = Math.Min(DataPacket.MaxTargets, groups - b - 1);
            for (int p = 0; p < pieces; p++)
            {
                int n = Math.Min(perPiece, chunkCount - p * perPiece);
                int piece = HashPiece.EncodedLength(n, HashListTree.ProofLength(pieces, p));
                int w = Wire(Topics.DeviceIn(1), DataPacket.FixedLength + 10 * relays + piece, false);
                Add(BrokerTraffic.DataKind, w, w);
            }
        }
    }

    /// <summary>The per-device control of the rollout (everything but notices and data).</summary>
    public void Device(uint node, int group, int groupSize, int chunkCount, RelayTree? table, double receivingSeconds)
    {
        if (!SignedRoot) Add(nameof(MessageType.Manifest), 2 * Wire(Topics.GroupManifest(group), Manifest.EncodedLength(chunkCount), true), 0);
        if (table != null) Add(nameof(MessageType.RelayTree), 2 * Wire(Topics.GroupTree(group), table.ToBytes().Length, true), 0);
        Add(nameof(MessageType.MemberList), Wire(Topics.GroupMembers(group), 12 + 10 * groupSize, true), 0);
        int presence = Wire(Topics.DeviceStatus(node), Presence.MaxEncodedLength, true);
        Add(nameof(MessageType.Presence), 2 * presence, 2 * presence);
        int reports = 3 + (int)Math.Floor(receivingSeconds / (new IotOta.DeviceFirmware.Agent.DeviceConfig().ProgressIntervalMs / 1000.0));
        // Two of the reports (nothing held yet / all held after the restart) leave the bitmap out (ProgressReport).
        int report = Wire(Topics.DeviceOut(node), 29 + (chunkCount + 7) / 8, true), bare = Wire(Topics.DeviceOut(node), 29, true);
        Add(nameof(MessageType.ProgressReport), (reports - 2) * report + 2 * bare, (reports - 2) * report + 2 * bare);
        int publishes = 2 + reports;
        Add(BrokerTraffic.SessionKind, 2 * publishes * PubAck + ConnAck + 9, 2 * publishes * PubAck + 60);
    }

    /// <summary>What the gateway publishes once per group: manifest, table, member list (received by the broker).</summary>
    public void Group(int group, int groupSize, int chunkCount, RelayTree? table)
    {
        if (SignedRoot)
        {
            // v2: the root to the group's piece seeds only (one per piece, at most the group's size), not retained
            int seeds = Math.Min(PieceCount, groupSize), w = Wire(Topics.DeviceIn(1), ImageRoot.EncodedLength, true);
            Add(nameof(MessageType.ImageRoot), seeds * w, seeds * w);
            Add(BrokerTraffic.SessionKind, 2 * seeds * PubAck, 2 * seeds * PubAck);
        }
        else Add(nameof(MessageType.Manifest), 0, Wire(Topics.GroupManifest(group), Manifest.EncodedLength(chunkCount), true) + PubAck);
        if (table != null) Add(nameof(MessageType.RelayTree), 0, Wire(Topics.GroupTree(group), table.ToBytes().Length, true) + PubAck);
    }

    public BrokerBytes Totals()
    {
        foreach (uint node in _openBatch.Keys.ToList()) CloseBatch(node);
        return new BrokerBytes($"simulated: protocol {(SignedRoot ? "v2" : "v1")} control messages modelled per device and per notice (ControlBytesModel), PUBLISH sized by MQTTnet's encoder",
        _sent.Values.Sum(), _received.Values.Sum(), _sent.GetValueOrDefault(BrokerTraffic.DataKind), _received.GetValueOrDefault(BrokerTraffic.DataKind),
        new SortedDictionary<string, long>(_sent, StringComparer.Ordinal), new SortedDictionary<string, long>(_received, StringComparer.Ordinal));
    }
}
