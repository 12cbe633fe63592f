using IotOta.Gateway.Fleet;
using IotOta.Gateway.Images;
using IotOta.Gateway.Mqtt;
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
        Action<string>? log = null, string clientId = "iotota-gateway", string? user = null, string? password = null)
    {
        _time = time ?? TimeProvider.System;
        _log = log;
        Registry = new DeviceRegistry(_time);
        Overheads = new OverheadTable(_time);
        Mqtt = new GatewayMqttClient(brokerHost, brokerPort, clientId, OnMessage, upBucket, user, password);
        Destinations = new DestinationList(Registry, (group, bytes) => Mqtt.PublishAsync(Topics.GroupMembers(group), bytes, retain: true));
        Mqtt.OnDisconnected += reason => _log?.Invoke($"gateway MQTT disconnected: {reason}");
        Registry.MembershipChanged += () => _ = RefreshDestinationsAsync(false);
    }

    public DeviceRegistry Registry { get; }
    public DestinationList Destinations { get; }
    public OverheadTable Overheads { get; }
    public GatewayMqttClient Mqtt { get; }
    public RolloutEngine? CurrentRollout => _rollout;
    public long MessagesRejected => Interlocked.Read(ref _rejected);
    /// <summary>How often the destination list is rebuilt and republished even without a join or leave.</summary>
    public TimeSpan DestinationRefreshInterval { get; init; } = TimeSpan.FromSeconds(5);

    public async Task StartAsync(CancellationToken ct)
    {
        await Mqtt.ConnectAsync(ct);
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
        var engine = new RolloutEngine(Mqtt, Registry, Destinations, Overheads, image, options, _time);
        if (Interlocked.CompareExchange(ref _rollout, engine, null) != null) throw new InvalidOperationException("a rollout is already running");
        try
        {
            return await engine.RunAsync(progress, ct);
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
                    break;
                case MessageType.ProgressReport:
                    _progress.Parse(payload, 0, payload.Length);
                    if (_progress.NodeId != Topics.NodeIdOf(topic)) throw new ProtocolException(ProtocolError.FieldOutOfRange, $"progress for node {_progress.NodeId} on {topic}");
                    Registry.OnProgress(_progress);
                    break;
                case MessageType.ReceiptNotice:
                    _notice.Parse(payload, 0, payload.Length);
                    if (_notice.NodeId != Topics.NodeIdOf(topic)) throw new ProtocolException(ProtocolError.FieldOutOfRange, $"notice for node {_notice.NodeId} on {topic}");
                    _rollout?.OnNotice(_notice);
                    break;
                case MessageType.RepairRequest:
                    _repair.Parse(payload, 0, payload.Length);
                    if (_repair.NodeId != Topics.NodeIdOf(topic)) throw new ProtocolException(ProtocolError.FieldOutOfRange, $"repair request for node {_repair.NodeId} on {topic}");
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

    public async ValueTask DisposeAsync()
    {
        _cts.Cancel();
        if (_refreshLoop != null) await _refreshLoop;
        await Mqtt.DisposeAsync();
    }
}
