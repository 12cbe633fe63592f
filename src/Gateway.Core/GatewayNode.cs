using IotOta.Gateway.Fleet;
using IotOta.Gateway.Images;
using IotOta.Gateway.Node;
using IotOta.Gateway.Rollouts;
using IotOta.Gateway.Scheduling;
using IotOta.Shared.Protocol;

namespace IotOta.Gateway;

/// <summary>
/// The gateway at run time: its broker link (<see cref="IBrokerPort"/>), the device registry and destination list kept
/// current from presence messages (<see cref="InboundRouter"/>), what each device holds (<see cref="HeldPacketLedger"/>),
/// the overhead table, and the rollout in progress (receipt notices and repair requests go to it).
/// src/Gateway.Mqtt's MqttGatewayNode.Create builds one on an MQTTnet client.
/// </summary>
public sealed class GatewayNode : IAsyncDisposable
{
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _refreshLock = new(1, 1);
    private readonly CancellationTokenSource _cts = new();
    private readonly Action<string>? _log;
    private readonly InboundRouter _router;
    private volatile RolloutEngine? _rollout;
    private Task _rolloutEnded = Task.CompletedTask;
    private Task? _refreshLoop;
    private int _reconnects;
    private readonly MemberListPacing _memberLists;

    public GatewayNode(IBrokerPort broker, TimeProvider? time = null, Action<string>? log = null, INodeStore? store = null)
    {
        _time = time ?? TimeProvider.System;
        _log = log;
        Broker = broker;
        Store = store;
        Registry = new DeviceRegistry(_time);
        Overheads = new OverheadTable(_time);
        Held = new HeldPacketLedger(_time, store);
        Held.Learned += node => _rollout?.OnHeldReport(node);
        CatchUp = Broker.Retained is { } retained
            ? new DeviceCatchUp(retained, (topic, bytes) => Broker.PublishAsync(topic, bytes), n => Registry.Get(n)?.Version, _time, log)
            : null;
        _router = new InboundRouter(Registry, Held, () => _rollout, store, log, CatchUp, _time);
        Destinations = new DestinationList(Registry, (group, bytes) => Broker.PublishAsync(Topics.GroupMembers(group), bytes, retain: true));
        Broker.Disconnected += reason => _log?.Invoke($"gateway MQTT disconnected: {reason}");
        Broker.Reconnected += OnReconnected;
        // Joins and leaves are published coalesced (MemberListPacing): on every join, 1,000 devices coming online
        // sent the broker's uplink O(n²) bytes of member lists and further devices could not connect.
        _memberLists = new MemberListPacing(_time, () => RefreshDestinationsAsync(false));
        Registry.MembershipChanged += _memberLists.Changed;
        // A device that left takes its pending sends with it (their notices will never come).
        Registry.DeviceUpdated += d =>
        {
            if (!d.Online) Overheads.ForgetSends(d.NodeId);
        };
    }

    public DeviceRegistry Registry { get; }
    public DestinationList Destinations { get; }
    public OverheadTable Overheads { get; }
    public IBrokerPort Broker { get; }
    /// <summary>Answers devices that connect without having got their group's retained state (null when the broker port
    /// keeps no record of its retained publishes).</summary>
    public DeviceCatchUp? CatchUp { get; }
    /// <summary>What each device is known to hold of each image.</summary>
    public HeldPacketLedger Held { get; }
    /// <summary>Where devices and their held packets are written (null: kept in memory only). A node started on the
    /// same store after a restart knows what each device held from it.</summary>
    public INodeStore? Store { get; }
    public RolloutEngine? CurrentRollout => _rollout;
    public long MessagesRejected => _router.Rejected;
    /// <summary>Progress reports and repair requests taken (each tells what a device holds).</summary>
    public long HeldReports => Held.Reports;
    /// <summary>Times the broker link came back after a disconnect.</summary>
    public int Reconnects => Volatile.Read(ref _reconnects);
    /// <summary>How often the destination list is rebuilt even without a join or leave (published where it changed).</summary>
    public TimeSpan DestinationRefreshInterval { get; init; } = TimeSpan.FromSeconds(5);

    public async Task StartAsync(CancellationToken ct)
    {
        await Broker.ConnectAsync(_router.Route, ct);
        _refreshLoop = Task.Run(async () =>
        {
            while (!_cts.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(DestinationRefreshInterval, _time, _cts.Token);
                    // Rebuilt (a change the events missed) but published only where it changed: republishing every
                    // list every 5 s took 220 KB/s of a broker uplink at 1,000 devices. A reconnect republishes all.
                    await RefreshDestinationsAsync(false);
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
            if (Broker.IsConnected) await Destinations.RefreshAsync(republishAll);
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
        long start = _time.GetTimestamp();
        while (Registry.Online().Count < count || Destinations.Members.Count < count)
        {
            if (_time.GetElapsedTime(start) > timeout)
                throw new TimeoutException($"only {Registry.Online().Count} of {count} devices came online within {timeout.TotalSeconds:0} s");
            await Task.Delay(TimeSpan.FromMilliseconds(50), _time, ct);
            if (Registry.Online().Count >= count) await RefreshDestinationsAsync(false);
        }
    }

    /// <summary>Runs one rollout to its end. <paramref name="started"/> is called with the engine before it runs (a
    /// campaign attaches to it there: pause, resume, views); one rollout runs at a time.</summary>
    public async Task<RolloutResult> RunRolloutAsync(FirmwareImage image, RolloutOptions options, IProgress<RolloutSnapshot>? progress, CancellationToken ct,
        Action<RolloutEngine>? started = null)
    {
        uint imageId = image.ImageId;
        if (options.Held == null) options = options with { Held = (node, k) => Held.Holds(node, imageId, k), HeldVersion = () => Held.Reports };
        var engine = new RolloutEngine(Broker, Registry, Destinations, Overheads, image, options, _time) { Shutdown = _cts.Token };
        if (Interlocked.CompareExchange(ref _rollout, engine, null) != null) throw new InvalidOperationException("a rollout is already running");
        var ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _rolloutEnded = ended.Task;
        try
        {
            started?.Invoke(engine);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, _cts.Token);
            return await engine.RunAsync(progress, linked.Token);
        }
        finally
        {
            _rollout = null;
            ended.TrySetResult();
        }
    }

    /// <summary>True when the device is known to hold the packet of the image (reported, or stored before a restart).</summary>
    public bool Holds(uint node, uint imageId, int index) => Held.Holds(node, imageId, index);

    /// <summary>Packets of the image the device is known to hold.</summary>
    public int HeldCount(uint node, uint imageId) => Held.Count(node, imageId);

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
                if (!Held.HasReported(n, image.ImageId)) missing++;
            }
            if (missing == 0 || _time.GetElapsedTime(start) > timeout) return missing;
            await Task.Delay(TimeSpan.FromMilliseconds(50), _time, ct);
        }
    }

    /// <summary>The broker may restart without persistence and lose every retained message: when the link comes back,
    /// publish every group's member list again (the rollout engine publishes its manifests again).</summary>
    private void OnReconnected()
    {
        if (_cts.IsCancellationRequested) return;
        Interlocked.Increment(ref _reconnects);
        _log?.Invoke("gateway MQTT reconnected; publishing member lists again");
        _ = RefreshDestinationsAsync(true);
    }

    public async ValueTask DisposeAsync()
    {
        _cts.Cancel();
        _memberLists.Dispose();
        CatchUp?.Stop();
        if (_refreshLoop != null) await _refreshLoop;
        // the engine stops on _cts; let it leave before the link goes
        await _rolloutEnded.WaitAsync(TimeSpan.FromSeconds(2), _time).ContinueWith(_ => { }, TaskScheduler.Default);
        await Broker.DisposeAsync();
    }
}
