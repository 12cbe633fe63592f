using System.Buffers;
using IotOta.Shared.Protocol;
using MQTTnet;
using MQTTnet.Protocol;

namespace IotOta.FaultSuite.Fleet;

/// <summary>
/// A passive MQTT client on the broker that sees what the first network carries, independent of the gateway's own
/// counters: every data packet published to a device's in-topic (originals and repair copies, with payload length and
/// packet index), every repair request the gateway hands to a donor, and each device's latest progress report and
/// presence (held packets, state, running version). Used by scenarios whose devices run in other OS processes.
/// </summary>
public sealed class BrokerObserver : IAsyncDisposable
{
    private readonly IMqttClient _client;
    private readonly object _gate = new();
    private readonly Dictionary<uint, DeviceView> _devices = new();
    private readonly Dictionary<int, int> _sendsPerIndex = new();
    private readonly DataPacket _packet = new();
    private readonly ProgressReport _progress = new();
    private readonly Presence _presence = new();
    private readonly NoticeBatch _batch = new();
    private readonly ReceiptNotice _notice = new();
    /// <summary>Per device, the packets of the image it sent receipt notices for (v1 single notices, v2 NoticeBatch):
    /// a device notices each packet as it finishes forwarding it, long before its next progress report (v2 reports at
    /// most every DeviceConfig.ProgressIntervalMs while receiving).</summary>
    private readonly Dictionary<uint, HashSet<int>> _noticed = new();
    private long _payload, _resent, _resentRepairs, _repairs, _dataPackets, _donorOrders, _malformed;
    private uint _imageId;
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
    private readonly Dictionary<uint, List<(double At, byte[] Bits)>> _reports = new();
    private readonly List<Resend> _resends = new();

    /// <summary>One data packet whose index had gone out before: when (seconds on the observer's clock), which packet,
    /// to whom, whether as a repair copy, and which devices had reported holding it by then.</summary>
    public sealed record Resend(double At, int Index, uint Dest, bool Repair, uint[] KnownHolders);

    private BrokerObserver(IMqttClient client) => _client = client;

    /// <summary>What the observer last heard from one device.</summary>
    public sealed record DeviceView(uint Node, int Group, bool Online, DeviceState State, FirmwareVersion Version, uint ImageId,
        int HeldCount, int ChunkCount, DateTime LastHeardUtc);

    public static async Task<BrokerObserver> StartAsync(string host, int port, CancellationToken ct)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        var o = new BrokerObserver(client);
        client.ApplicationMessageReceivedAsync += e =>
        {
            o.Take(e.ApplicationMessage.Topic, e.ApplicationMessage.Payload.ToArray());
            return Task.CompletedTask;
        };
        var options = new MqttClientOptionsBuilder().WithTcpServer(host, port).WithClientId("iotota-observer-" + Guid.NewGuid().ToString("N")[..8])
            .WithCleanSession(true).WithTimeout(TimeSpan.FromSeconds(5)).Build();
        await client.ConnectAsync(options, ct);
        var sub = new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter("iotota/dev/+/in", MqttQualityOfServiceLevel.AtMostOnce)
            .WithTopicFilter(Topics.AllDeviceOut, MqttQualityOfServiceLevel.AtMostOnce)
            .WithTopicFilter(Topics.AllDeviceStatus, MqttQualityOfServiceLevel.AtMostOnce)
            .Build();
        await client.SubscribeAsync(sub, ct);
        return o;
    }

    /// <summary>Only data packets of this image count (set when the rollout's image is known).</summary>
    public uint ImageId
    {
        get { lock (_gate) return _imageId; }
        set { lock (_gate) _imageId = value; }
    }

    /// <summary>Payload bytes of the image's data packets the broker carried to devices' in-topics.</summary>
    public long GatewayPayloadBytes { get { lock (_gate) return _payload; } }
    /// <summary>Payload bytes of data packets whose packet index had gone out to some device before: in cross-group
    /// mode one copy of each packet reaches the whole fleet, every further one is a re-send.</summary>
    public long ResentBytes { get { lock (_gate) return _resent; } }
    /// <summary>The part of <see cref="ResentBytes"/> sent as repair copies (answers to repair requests).</summary>
    public long ResentRepairBytes { get { lock (_gate) return _resentRepairs; } }
    /// <summary>Repair copies (not originals) among the data packets.</summary>
    public long RepairCopies { get { lock (_gate) return _repairs; } }
    public long DataPackets { get { lock (_gate) return _dataPackets; } }
    /// <summary>Distinct packets of the image (by index) the broker carried to some device, originals or copies.</summary>
    public int DistinctPacketsSent { get { lock (_gate) return _sendsPerIndex.Count; } }
    /// <summary>Repair requests published to devices' in-topics (the gateway naming a donor for a requester).</summary>
    public long DonorOrders { get { lock (_gate) return _donorOrders; } }
    public long Malformed { get { lock (_gate) return _malformed; } }

    public DeviceView? Device(uint node)
    {
        lock (_gate) return _devices.GetValueOrDefault(node);
    }

    public IReadOnlyList<DeviceView> Devices()
    {
        lock (_gate) return _devices.Values.OrderBy(d => d.Node).ToList();
    }

    /// <summary>Packets of the image held over the given devices: per device the larger of its latest progress report's
    /// count and the packets it sent receipt notices for (updated devices count as holding every packet).</summary>
    public long HeldPackets(IEnumerable<uint> nodes, int chunkCount, FirmwareVersion version)
    {
        lock (_gate)
        {
            long sum = 0;
            foreach (uint n in nodes)
            {
                if (!_devices.TryGetValue(n, out var d))
                {
                    if (_noticed.TryGetValue(n, out var only)) sum += Math.Min(chunkCount, only.Count);
                    continue;
                }
                if (IsUpdated(d, version)) sum += chunkCount;
                else
                {
                    int held = d.ImageId == _imageId ? d.HeldCount : 0;
                    int noticed = _noticed.TryGetValue(n, out var set) ? set.Count : 0;
                    sum += Math.Min(chunkCount, Math.Max(held, noticed));
                }
            }
            return sum;
        }
    }

    /// <summary>Seconds on the observer's clock (the time base of <see cref="Resends"/> and <see cref="HeldAfter"/>).</summary>
    public double Now => _clock.Elapsed.TotalSeconds;

    /// <summary>Every data packet sent again, in order (diagnostics: where re-sent bytes come from).</summary>
    public IReadOnlyList<Resend> Resends()
    {
        lock (_gate) return _resends.ToList();
    }

    /// <summary>The bitmap of the device's first progress report at or after <paramref name="at"/> (null: none).</summary>
    public byte[]? HeldAfter(uint node, double at)
    {
        lock (_gate) return _reports.TryGetValue(node, out var list) ? list.FirstOrDefault(r => r.At >= at).Bits : null;
    }

    /// <summary>The bitmap of the device's last progress report before <paramref name="at"/> (null: none).</summary>
    public byte[]? HeldBefore(uint node, double at)
    {
        lock (_gate) return _reports.TryGetValue(node, out var list) ? list.LastOrDefault(r => r.At < at).Bits : null;
    }

    private uint[] HoldersOf(int index)
    {
        var holders = new List<uint>();
        foreach (var (n, list) in _reports)
        {
            var bits = list[^1].Bits;
            if ((index >> 3) < bits.Length && (bits[index >> 3] & (1 << (index & 7))) != 0) holders.Add(n);
        }
        return holders.ToArray();
    }

    public static bool IsUpdated(DeviceView d, FirmwareVersion version) => d.State == DeviceState.Updated && d.Version.SameAs(version);

    private void Take(string topic, byte[] payload)
    {
        if (payload.Length == 0) return;
        try
        {
            uint node = Topics.NodeIdOf(topic);
            MessageType t = WireHeader.Peek(payload, 0, payload.Length);
            lock (_gate)
            {
                if (topic.EndsWith("/in", StringComparison.Ordinal))
                {
                    if (t == MessageType.RepairRequest) _donorOrders++;
                    if (t is not (MessageType.Original or MessageType.Copy)) return;
                    _packet.Parse(payload, 0, payload.Length);
                    if (_packet.ImageId != _imageId) return;
                    _dataPackets++;
                    _payload += _packet.PayloadLength;
                    int sent = _sendsPerIndex.GetValueOrDefault(_packet.Index);
                    bool repair = !_packet.IsOriginal;
                    if (repair) _repairs++;
                    if (sent > 0) _resent += _packet.PayloadLength;
                    if (sent > 0 && repair) _resentRepairs += _packet.PayloadLength;
                    if (sent > 0) _resends.Add(new Resend(_clock.Elapsed.TotalSeconds, _packet.Index, node, repair, HoldersOf(_packet.Index)));
                    _sendsPerIndex[_packet.Index] = sent + 1;
                }
                else if (t == MessageType.ProgressReport)
                {
                    _progress.Parse(payload, 0, payload.Length);
                    if (_progress.ImageId == _imageId && _progress.ChunkCount > 0)
                    {
                        // v2 sends no bitmap when nothing or everything is held (BitmapBuffer null): Holds() knows.
                        var bits = new byte[(_progress.ChunkCount + 7) / 8];
                        if (_progress.BitmapBuffer != null) Array.Copy(_progress.BitmapBuffer, _progress.BitmapOffset, bits, 0, bits.Length);
                        else if (_progress.HeldCount == _progress.ChunkCount) for (int k = 0; k < _progress.ChunkCount; k++) bits[k >> 3] |= (byte)(1 << (k & 7));
                        if (!_reports.TryGetValue(node, out var list)) _reports[node] = list = new();
                        list.Add((_clock.Elapsed.TotalSeconds, bits));
                    }
                    var old = _devices.GetValueOrDefault(node);
                    _devices[node] = new DeviceView(node, old?.Group ?? 0, true, _progress.State, _progress.RunningVersion, _progress.ImageId,
                        _progress.HeldCount, _progress.ChunkCount, DateTime.UtcNow);
                }
                else if (t == MessageType.NoticeBatch || t == MessageType.CompactNoticeBatch)
                {
                    _batch.Parse(payload, 0, payload.Length);
                    if (_batch.ImageId != _imageId) return;
                    for (int i = 0; i < _batch.Count; i++)
                    {
                        _batch.Get(i, _notice);
                        Noticed(node, _notice.Index);
                    }
                }
                else if (t == MessageType.ReceiptNotice)
                {
                    _notice.Parse(payload, 0, payload.Length);
                    if (_notice.ImageId == _imageId) Noticed(node, _notice.Index);
                }
                else if (t == MessageType.Presence)
                {
                    _presence.Parse(payload, 0, payload.Length);
                    var old = _devices.GetValueOrDefault(node);
                    _devices[node] = new DeviceView(node, _presence.GroupId, _presence.Online, _presence.State, _presence.RunningVersion,
                        old?.ImageId ?? 0, old?.HeldCount ?? 0, old?.ChunkCount ?? 0, DateTime.UtcNow);
                }
            }
        }
        catch (ProtocolException)
        {
            lock (_gate) _malformed++;
        }
    }

    private void Noticed(uint node, int index)
    {
        if (!_noticed.TryGetValue(node, out var set)) _noticed[node] = set = new();
        set.Add(index);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_client.IsConnected) await _client.DisconnectAsync();
        }
        catch (Exception)
        {
            // closing anyway
        }
        _client.Dispose();
    }
}
