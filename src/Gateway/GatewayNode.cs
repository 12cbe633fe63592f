using IotOta.Gateway.Fleet;
using IotOta.Gateway.Images;
using IotOta.Gateway.Mqtt;
using IotOta.Gateway.Persistence;
using IotOta.Gateway.Rollouts;
using IotOta.Gateway.Scheduling;
using IotOta.Shared.Protocol;
using IotOta.VirtualDevice.Network;

namespace IotOta.Gateway;

/// <summary>
/// The gateway at run time: its MQTT link, the device registry and destination list kept current from presence
/// messages, the overhead table, and the rollout in progress (receipt notices and repair requests go to it).
/// </summary>
public sealed class GatewayNode : IAsyncDisposable
{
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _refreshLock = new(1, 1);
    private readonly CancellationTokenSource _cts = new();
    private readonly Action<string>? _log;
    private volatile RolloutEngine? _rollout;
    private Task? _refreshLoop;
    private long _rejected;

    public GatewayNode(string brokerHost, int brokerPort, TimeProvider? time = null, TokenBucket? upBucket = null,
        Action<string>? log = null, string clientId = "iotota-gateway", string? user = null, string? password = null, MqttTls? tls = null)
        : this(onMessage => new GatewayMqttClient(brokerHost, brokerPort, clientId, onMessage, upBucket, user, password, tls), time, log)
    {
    }

    /// <summary>A gateway on the broker (or cluster) that <paramref name="broker"/> describes: its endpoints in failover
    /// order, credentials and TLS.</summary>
    public GatewayNode(MqttBrokerSettings broker, TimeProvider? time = null, TokenBucket? upBucket = null, Action<string>? log = null)
        : this(onMessage => new GatewayMqttClient(broker.Endpoints, broker.GatewayClientId, onMessage, upBucket, broker.Username, broker.Password, broker.Tls), time, log)
    {
    }

    private GatewayNode(Func<Action<string, byte[]>, GatewayMqttClient> link, TimeProvider? time, Action<string>? log)
    {
        _time = time ?? TimeProvider.System;
        _log = log;
        Registry = new DeviceRegistry(_time);
        Overheads = new OverheadTable(_time);
        Mqtt = link(OnMessage);
        Destinations = new DestinationList(Registry, (group, bytes) => Mqtt.PublishAsync(Topics.GroupMembers(group), bytes, retain: true));
        CatchUp = new DeviceCatchUp(Mqtt.Retained, (topic, bytes) => Mqtt.PublishAsync(topic, bytes), n => Registry.Get(n)?.Version, _time, log);
        Mqtt.OnDisconnected += reason => _log?.Invoke($"gateway MQTT disconnected: {reason}");
        Registry.MembershipChanged += () => _ = RefreshDestinationsAsync(false);
    }

    /// <summary>Answers devices that connect without having got their group's retained state (see <see cref="DeviceCatchUp"/>).</summary>
    public DeviceCatchUp CatchUp { get; }
    public DeviceRegistry Registry { get; }
    public DestinationList Destinations { get; }
    public OverheadTable Overheads { get; }
    public GatewayMqttClient Mqtt { get; }
    public RolloutEngine? CurrentRollout => _rollout;
    public long MessagesRejected => Interlocked.Read(ref _rejected);
    /// <summary>Where devices and their held packets are written (null: kept in memory only). A node started on the
    /// same file after a restart knows what each device held from it.</summary>
    public GatewayDatabase? Database { get; init; }
    /// <summary>How often the destination list is rebuilt and republished even without a join or leave.</summary>
    public TimeSpan DestinationRefreshInterval { get; init; } = TimeSpan.FromSeconds(5);

    public async Task StartAsync(CancellationToken ct)
    {
        await Mqtt.ConnectAsync(ct);
        _reconnectWatch = Task.Run(WatchReconnectsAsync);
        _refreshLoop = Task.Run(async () =>
        {
            while (!_cts.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(DestinationRefreshInterval, _time, _cts.Token);
                    await RefreshDestinationsAsync(true);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                catch (Exception e)
                {
                    _log?.Invoke($"destination refresh failed: {e.Message}");
                }
            }
        });
    }

    public async Task RefreshDestinationsAsync(bool republishAll)
    {
        await _refreshLock.WaitAsync();
        try
        {
            if (Mqtt.IsConnected) await Destinations.RefreshAsync(republishAll);
        }
        catch (Exception e)
        {
            _log?.Invoke($"destination list publish failed: {e.Message}");
        }
        finally
        {
            _refreshLock.Release();
        }
    }

    /// <summary>Waits until at least count devices are online and the destination list holds them.</summary>
    public async Task WaitForDevicesAsync(int count, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = _time.GetTimestamp() + (long)(timeout.TotalSeconds * _time.TimestampFrequency);
        while (Registry.Online().Count < count || Destinations.Members.Count < count)
        {
            if (_time.GetTimestamp() > deadline)
                throw new TimeoutException($"only {Registry.Online().Count} of {count} devices came online within {timeout.TotalSeconds:0} s");
            await Task.Delay(50, ct);
            if (Registry.Online().Count >= count) await RefreshDestinationsAsync(false);
        }
    }

    public async Task<RolloutResult> RunRolloutAsync(FirmwareImage image, RolloutOptions options, IProgress<RolloutSnapshot>? progress, CancellationToken ct)
    {
        uint imageId = image.ImageId;
        if (options.Held == null) options = options with { Held = (node, k) => Holds(node, imageId, k), HeldVersion = () => HeldReports };
        var engine = new RolloutEngine(Mqtt, Registry, Destinations, Overheads, image, options, _time) { Shutdown = _cts.Token };
        if (Interlocked.CompareExchange(ref _rollout, engine, null) != null) throw new InvalidOperationException("a rollout is already running");
        try
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, _cts.Token);
            return await engine.RunAsync(progress, linked.Token);
        }
        finally
        {
            _rollout = null;
        }
    }

    private readonly Presence _presence = new();
    private readonly ProgressReport _progress = new();
    private readonly ReceiptNotice _notice = new();
    private readonly RepairRequest _repair = new();

    private void OnMessage(string topic, byte[] payload)
    {
        try
        {
            switch (WireHeader.Peek(payload, 0, payload.Length))
            {
                case MessageType.Presence:
                    _presence.Parse(payload, 0, payload.Length);
                    if (_presence.NodeId != Topics.NodeIdOf(topic)) throw new ProtocolException(ProtocolError.FieldOutOfRange, $"presence for node {_presence.NodeId} on {topic}");
                    Registry.OnPresence(_presence);
                    if (_presence.Online) CatchUp.OnPresence(_presence.NodeId, _presence.GroupId, _cts.Token);
                    if (Database != null && Registry.Get(_presence.NodeId) is { } rec) Database.SaveDevice(rec);
                    break;
                case MessageType.ProgressReport:
                    _progress.Parse(payload, 0, payload.Length);
                    if (_progress.NodeId != Topics.NodeIdOf(topic)) throw new ProtocolException(ProtocolError.FieldOutOfRange, $"progress for node {_progress.NodeId} on {topic}");
                    Registry.OnProgress(_progress);
                    CatchUp.OnReport(_progress.NodeId, _progress.ImageId);
                    if (_progress.ImageId != 0 && _progress.ChunkCount > 0 && _progress.BitmapBuffer != null)
                    {
                        var bits = new byte[Shared.Chunking.PacketBitmap.ByteLength(_progress.ChunkCount)];
                        Array.Copy(_progress.BitmapBuffer, _progress.BitmapOffset, bits, 0, bits.Length);
                        LearnHeld(_progress.NodeId, _progress.ImageId, _progress.ChunkCount, bits);
                    }
                    break;
                case MessageType.ReceiptNotice:
                    _notice.Parse(payload, 0, payload.Length);
                    if (_notice.NodeId != Topics.NodeIdOf(topic)) throw new ProtocolException(ProtocolError.FieldOutOfRange, $"notice for node {_notice.NodeId} on {topic}");
                    _rollout?.OnNotice(_notice);
                    break;
                case MessageType.RepairRequest:
                    _repair.Parse(payload, 0, payload.Length);
                    if (_repair.NodeId != Topics.NodeIdOf(topic)) throw new ProtocolException(ProtocolError.FieldOutOfRange, $"repair request for node {_repair.NodeId} on {topic}");
                    if (_repair.ChunkCount > 0)
                    {
                        var bits = new byte[Shared.Chunking.PacketBitmap.ByteLength(_repair.ChunkCount)];
                        for (int i = 0; i < _repair.ChunkCount; i++) if (!_repair.IsMissing(i)) bits[i >> 3] |= (byte)(1 << (i & 7));
                        LearnHeld(_repair.NodeId, _repair.ImageId, _repair.ChunkCount, bits);
                    }
                    _rollout?.OnRepairRequest(_repair);
                    break;
                default:
                    if (payload.Length == 0) return; // a cleared retained message
                    throw new ProtocolException(ProtocolError.UnexpectedType, $"unexpected message on {topic}");
            }
        }
        catch (ProtocolException e)
        {
            Interlocked.Increment(ref _rejected);
            _log?.Invoke($"rejected message on {topic}: {e.Message}");
        }
    }

    // ---- what each device holds -------------------------------------------------------------------------------
    private sealed class HeldState(int chunkCount, byte[] bits)
    {
        public readonly int ChunkCount = chunkCount;
        public readonly byte[] Bits = bits;
        public long ReportedAt;
    }

    private readonly object _heldGate = new();
    private readonly Dictionary<(uint Node, uint Image), HeldState> _held = new();
    private readonly HashSet<uint> _heldLoaded = new();
    private Task? _reconnectWatch;

    /// <summary>Progress reports and repair requests taken (each tells what a device holds).</summary>
    public long HeldReports { get; private set; }

    private void LearnHeld(uint node, uint imageId, int chunkCount, byte[] bits)
    {
        EnsureHeldLoaded(imageId);
        lock (_heldGate)
        {
            HeldReports++;
            if (!_held.TryGetValue((node, imageId), out var st) || st.ChunkCount != chunkCount)
                _held[(node, imageId)] = st = new HeldState(chunkCount, new byte[bits.Length]);
            for (int i = 0; i < bits.Length; i++) st.Bits[i] |= bits[i]; // a device keeps what it wrote to flash
            st.ReportedAt = _time.GetTimestamp();
            bits = (byte[])st.Bits.Clone();
        }
        Database?.SaveProgress(node, imageId, chunkCount, bits);
        _rollout?.OnHeldReport(node);
    }

    private void EnsureHeldLoaded(uint imageId)
    {
        if (Database == null) return;
        lock (_heldGate)
        {
            if (!_heldLoaded.Add(imageId)) return;
            foreach (var (node, bits) in Database.LoadProgress(imageId))
            {
                if (!_held.ContainsKey((node, imageId))) _held[(node, imageId)] = new HeldState(bits.Length * 8, bits);
            }
        }
    }

    /// <summary>True when the device is known to hold the packet of the image (reported, or stored before a restart).</summary>
    public bool Holds(uint node, uint imageId, int index)
    {
        EnsureHeldLoaded(imageId);
        lock (_heldGate)
        {
            return _held.TryGetValue((node, imageId), out var st) && index >= 0 && (index >> 3) < st.Bits.Length
                && (st.Bits[index >> 3] & (1 << (index & 7))) != 0;
        }
    }

    /// <summary>Packets of the image the device is known to hold.</summary>
    public int HeldCount(uint node, uint imageId)
    {
        EnsureHeldLoaded(imageId);
        lock (_heldGate)
            return _held.TryGetValue((node, imageId), out var st) ? st.Bits.Sum(b => System.Numerics.BitOperations.PopCount(b)) : 0;
    }

    /// <summary>After a restart: waits until every online device among nodes has told this node what it holds of the
    /// image (a progress report or a repair request), runs the image already, or the timeout passed. Returns how many
    /// had not reported.</summary>
    public async Task<int> WaitForHeldReportsAsync(IEnumerable<uint> nodes, FirmwareImage image, TimeSpan timeout, CancellationToken ct)
    {
        var list = nodes.ToList();
        long start = _time.GetTimestamp();
        while (true)
        {
            int missing = 0;
            foreach (uint n in list)
            {
                var d = Registry.Get(n);
                if (d == null || !d.Online || (d.Version.SameAs(image.Version) && d.State == DeviceState.Updated)) continue;
                lock (_heldGate)
                {
                    if (!_held.TryGetValue((n, image.ImageId), out var st) || st.ReportedAt == 0) missing++;
                }
            }
            if (missing == 0 || _time.GetElapsedTime(start) > timeout) return missing;
            await Task.Delay(50, ct);
        }
    }

    /// <summary>The broker may restart without persistence and lose every retained message: when the MQTT link
    /// comes back, publish every group's member list again (the rollout engine publishes its manifests again).</summary>
    private async Task WatchReconnectsAsync()
    {
        int seen = Mqtt.Disconnects;
        while (!_cts.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(100, _cts.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            if (Mqtt.Disconnects != seen && Mqtt.IsConnected)
            {
                seen = Mqtt.Disconnects;
                Reconnects++;
                _log?.Invoke("gateway MQTT reconnected; publishing member lists again");
                await RefreshDestinationsAsync(true);
            }
        }
    }

    /// <summary>Times the MQTT link came back after a disconnect.</summary>
    public int Reconnects { get; private set; }

    public async ValueTask DisposeAsync()
    {
        _cts.Cancel();
        if (_reconnectWatch != null) await _reconnectWatch;
        if (_refreshLoop != null) await _refreshLoop;
        var engine = _rollout;
        if (engine != null)
        {
            // the engine stops on _cts; let it leave before the link goes
            for (int i = 0; i < 100 && _rollout != null; i++) await Task.Delay(20);
        }
        await Mqtt.DisposeAsync();
    }
}
