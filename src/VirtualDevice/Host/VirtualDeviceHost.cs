using IotOta.Gateway.Mqtt;
using IotOta.DeviceFirmware.Agent;
using IotOta.DeviceFirmware.Ports;
using IotOta.Shared.Protocol;
using IotOta.BoardProfiles;
using IotOta.VirtualDevice.Flash;
using IotOta.VirtualDevice.Host.Metering;
using IotOta.VirtualDevice.Network;
using IotOta.VirtualDevice.Platform;

namespace IotOta.VirtualDevice.Host;

/// <summary>
/// One virtual device: the device core (DeviceAgent) wired to MQTTnet, real TCP sockets on 127.0.0.1 and a
/// file-backed flash, with its link limits. Runs a forwarding thread and a 50 ms tick (on the shared TickScheduler). A restart request (after an
/// install) builds a new agent from what flash holds, as a reboot would. Many hosts run in one process.
/// </summary>
public sealed class VirtualDeviceHost : IRestartPort, IAsyncDisposable
{
    private readonly VirtualDeviceOptions _o;
    private readonly AutoResetEvent _work = new(false);
    private readonly CancellationTokenSource _cts = new();
    private VirtualFlashLayout? _flash;
    private TcpPeerNetwork? _peer;
    private MqttDevicePort? _mqtt;
    private volatile DeviceAgent? _agent;
    private Thread? _pump;
    private IDisposable? _tick;
    private long _seenConnects;
    private int _restarts;
    private int _disposed;
    private readonly object _restartGate = new();

    /// <summary>How long an idle forwarding thread sleeps unless woken. Every source of forwarding work (a message on
    /// either network, a restart) wakes it at once, so this is only a safety net; a 20 ms poll cost a fleet of 1,000
    /// devices 50,000 wake-ups a second doing nothing, and even a 250 ms one was a third of an idle fleet's CPU.</summary>
    public const int IdlePollMs = 10_000;

    /// <summary>A device with nothing under way (idle, updated, failed or rolled back, and no message for
    /// <see cref="QuietAfterMs"/>) runs its core's tick this often instead of every 50 ms: nothing in it is due
    /// sooner (the trial timeout counts minutes), and 20 ticks a second for each of 1,000 idle devices cost more CPU
    /// than the whole rest of the idle fleet.</summary>
    public const int QuietTickMs = 500;
    /// <summary>How long after a message, a (re)connect or a reboot the device ticks at the full rate.</summary>
    public const int QuietAfterMs = 2000;
    private long _activeUntilMs, _lastTickMs;

    public VirtualDeviceHost(VirtualDeviceOptions options)
    {
        _o = options;
        HeapMeter = new CoreHeapMeter(options.Board is { } b ? $"{options.NodeId} ({b.Name})" : options.NodeId.ToString(),
            options.CoreHeapBudget ?? options.Board?.CoreHeapBudget ?? 0);
    }

    /// <summary>The device core's heap on this device, measured around every call into the core (adapters
    /// subtracted), against the board's coreHeapBudget (or <see cref="VirtualDeviceOptions.CoreHeapBudget"/>).
    /// A device whose core exceeds its budget stops, as a board out of memory would.</summary>
    public CoreHeapMeter HeapMeter { get; }
    private MeteredLayout? _meteredFlash;
    private MeteredMqtt? _meteredMqtt;

    public uint NodeId => _o.NodeId;
    /// <summary>The options this device was built with (a fleet restarts a device from them).</summary>
    public VirtualDeviceOptions Options => _o;
    /// <summary>Managed bytes allocated on the calling threads while inside the device core (OnMqttMessage,
    /// OnPeerMessage, PumpOnce), measured with GC.GetAllocatedBytesForCurrentThread around each call, minus what the
    /// .NET network adapters it called (MQTTnet publish, socket send) allocated meanwhile.</summary>
    public long CoreAllocatedBytes => Interlocked.Read(ref _coreAlloc);
    /// <summary>Messages handed to the device core (both networks).</summary>
    public long CoreMessages => Interlocked.Read(ref _coreMessages);
    private long _coreAlloc, _coreMessages;
    public int GroupId => _o.GroupId;
    public DeviceAgent Agent => _agent ?? throw new InvalidOperationException("device not started");
    public TcpPeerNetwork Peer => _peer ?? throw new InvalidOperationException("device not started");
    /// <summary>Most peer connections this device held at once, over every boot (the budget lives with the socket
    /// layer, which a reboot of the core keeps).</summary>
    public int PeerConnectionsMax => _peer?.Budget.HighWater ?? 0;
    /// <summary>Peer connections refused because all of the device's sockets were busy.</summary>
    public long PeerConnectionsRefused => _peer?.Budget.Refused ?? 0;
    public MqttDevicePort Mqtt => _mqtt ?? throw new InvalidOperationException("device not started");
    public VirtualFlashLayout Flash => _flash ?? throw new InvalidOperationException("device not started");
    public int Restarts => Volatile.Read(ref _restarts);
    /// <summary>Fault injection: every new image this device boots on trial fails its self-test, so the device rolls
    /// back to the previous image and reports RolledBack (the health gate's failure case).</summary>
    public bool FailSelfTest { get; set; }
    /// <summary>The sequential sink of the running agent (a board profile with sinkMode sequential), else null.</summary>
    public VirtualSequentialSink? Sink { get; private set; }
    /// <summary>Most packets the staging area held at once, over every boot of this device.</summary>
    public int StagingHighWater => Math.Max(_previousStagingHighWater, _agent?.Counters.StagingHighWater ?? 0);
    private int _previousStagingHighWater;
    /// <summary>True once the device was powered off (disposed).</summary>
    public bool IsStopped => _cts.IsCancellationRequested;
    /// <summary>Counters of every agent this device has run (one per boot), summed.</summary>
    public long PeerPayloadBytesSent => _previousPeerBytes + (_agent?.Counters.PeerPayloadBytesSent ?? 0);
    private long _previousPeerBytes;
    /// <summary>Relay copies this device passed on down a relay tree (over its restarts).</summary>
    public long TreeRelays => _previousTreeRelays + (_agent?.Counters.TreeRelays ?? 0);
    private long _previousTreeRelays;
    /// <summary>Repair requests this device sent to peers and to the gateway, and packets it received that it already
    /// held (over its restarts).</summary>
    public (long ToPeers, long ToGateway, long Duplicates) RepairFigures =>
        (_previousRepair.ToPeers + (_agent?.Counters.RepairRequestsSent ?? 0),
         _previousRepair.ToGateway + (_agent?.Counters.GatewayRepairRequests ?? 0),
         _previousRepair.Duplicates + (_agent?.Counters.DuplicatePackets ?? 0));
    private (long ToPeers, long ToGateway, long Duplicates) _previousRepair;

    public async Task StartAsync(CancellationToken ct)
    {
        Directory.CreateDirectory(_o.DataDir);
        string flashPath = Path.Combine(_o.DataDir, $"dev-{_o.NodeId}.flash");
        _flash = _o.Board is { } b
            ? new VirtualFlashLayout(flashPath, b.SlotSize, b.UpdateStateSize, b.SinkMode == SinkMode.Sequential ? b.StagingSize : 0)
            : new VirtualFlashLayout(flashPath, _o.SlotSize);
        // Burst of one packet: a link has no reserve beyond what is on the wire.
        TokenBucket? up = _o.Link.CreateUpBucket(_o.EffectiveMaxChunkSize);
        TokenBucket? down = _o.Link.CreateDownBucket(_o.EffectiveMaxChunkSize);
        _peer = new TcpPeerNetwork(OnPeer, _o.Link, up, down, budget: new PeerConnectionBudget(_o.EffectiveMaxPeerConnections));
        var will = new Presence { NodeId = _o.NodeId, GroupId = _o.GroupId, Online = false, Ip = _peer.Ip, Port = _peer.Port, RunningVersion = _o.FactoryVersion };
        _mqtt = new MqttDevicePort(_o.BrokerEndpoints, _o.MqttClientId, _o.MqttUser, _o.MqttPassword,
            Topics.DeviceStatus(_o.NodeId), will.ToBytes(), OnMqtt, up, down, _o.Link, _o.MqttTls);
        _meteredFlash = new MeteredLayout(_flash);
        _meteredMqtt = new MeteredMqtt(_mqtt);
        if (_o.GroupDataTopic != null) _mqtt.Subscribe(_o.GroupDataTopic, Topics.DeviceIn(_o.NodeId));
        _agent = BootAgent();
        _pump = new Thread(PumpLoop) { IsBackground = true, Name = $"dev-{_o.NodeId}-pump" };
        _pump.Start();
        await _mqtt.ConnectAsync(ct);
        // The 50 ms tick runs on the fleet's shared tick threads (TickScheduler), not a thread of its own.
        _tick = TickScheduler.Shared.Add(Tick);
    }

    /// <summary>Builds and starts an agent; what that allocates stays alive for the whole boot.</summary>
    private DeviceAgent BootAgent()
    {
        ILogPort? log = _o.Log == null ? null : new MeteredLog(new ListLog(64, _o.Log));
        IPeerPort peer = new MeteredPeer(_o.GroupUplink != null && _o.IsOwnGroup != null ? new GroupUplinkPeerPort(_peer!, _o.GroupUplink, _o.IsOwnGroup) : _peer!);
        // A sequential board gets a fresh append-only session per boot (it resumes at the verified prefix).
        VirtualSequentialSink? sink = _o.Board?.SinkMode == SinkMode.Sequential ? new VirtualSequentialSink(_flash!) : null;
        IImageSink? meteredSink = sink == null ? null : new MeteredSink(sink);
        IFlashPartition? staging = sink == null || _flash!.Staging == null ? null : new MeteredPartition(_flash.Staging);
        var hash = new MeteredHash(new DotNetHashPort());
        var verifier = new MeteredVerifier(_o.Verifier);
        long mark = CoreHeapMeter.Begin();
        DeviceAgent agent = CreateAgent(log, peer, sink, meteredSink, staging, hash, verifier);
        agent.Start();
        HeapMeter.EndBoot(mark);
        CheckBudget(agent);
        return agent;
    }

    private DeviceAgent CreateAgent(ILogPort? log, IPeerPort peer, VirtualSequentialSink? sink, IImageSink? meteredSink, IFlashPartition? staging,
        IHashPort hash, ISignatureVerifier verifier)
    {
        var config = new DeviceConfig
        {
            NodeId = _o.NodeId,
            GroupId = _o.GroupId,
            PeerIp = _peer!.Ip,
            PeerPort = _peer.Port,
            FactoryVersion = _o.FactoryVersion,
            MaxChunkSize = _o.EffectiveMaxChunkSize,
            MaxPeerConnections = _o.EffectiveMaxPeerConnections,
        };
        if (_o.Board is { } board)
        {
            config.MaxMembers = board.MaxMembers;
            config.ForwardQueueCapacity = board.ForwardQueueCapacity;
        }
        else
        {
            // without a board the member list takes a whole protocol list: groups of up to 1,024 members
            config.MaxMembers = VirtualDeviceOptions.DefaultMaxMembers;
        }
        Sink = sink;
        return new DeviceAgent(config, _meteredFlash!, _meteredMqtt!, peer, SystemClock.Instance, hash, verifier, this, log, meteredSink, staging);
    }

    /// <summary>A core whose heap would not fit the board stops (a board throws OutOfMemoryException).</summary>
    private void CheckBudget(DeviceAgent agent)
    {
        if (!HeapMeter.Exceeded || agent.IsStopped) return;
        _o.Log?.Invoke($"[{_o.NodeId}] {HeapMeter.Failure}");
        agent.Stop();
    }

    /// <summary>One call into the core, measured. retained when it made the core take a new image (the manifest).</summary>
    private void Measured(DeviceAgent a, string what, int messageType, Action<DeviceAgent> call) => Measured(a, what, messageType, x => { call(x); return true; });

    /// <summary>One call into the core, metered against the heap budget; what it allocated counts towards the
    /// per-message figure when the call returns true (a pump pass that did work).</summary>
    private bool Measured(DeviceAgent a, string what, int messageType, Func<DeviceAgent, bool> call)
    {
        uint image = a.CurrentImageId;
        int installs = a.Counters.Installs;
        long mark = CoreHeapMeter.Begin();
        bool counted = call(a);
        long bytes = a.Counters.Installs != installs
            ? HeapMeter.EndInstall(mark) // the whole-image check and the slot switch: the install phase
            : HeapMeter.End(mark, a.CurrentImageId != image, what, messageType);
        if (counted) Interlocked.Add(ref _coreAlloc, bytes);
        CheckBudget(a);
        return counted;
    }

    private void Active() => Volatile.Write(ref _activeUntilMs, Environment.TickCount64 + QuietAfterMs);

    /// <summary>False for a device with nothing under way whose last tick was less than <see cref="QuietTickMs"/> ago.</summary>
    private bool TickDue(DeviceAgent a)
    {
        long now = Environment.TickCount64;
        if (now < Volatile.Read(ref _activeUntilMs) || a.State is DeviceState.Receiving or DeviceState.Verifying or DeviceState.Installing
            or DeviceState.PendingConfirm || now - _lastTickMs >= QuietTickMs)
        {
            _lastTickMs = now;
            return true;
        }
        return false;
    }

    private void OnMqtt(string topic, byte[] buffer, int offset, int count)
    {
        Active();
        DeviceAgent? a = _agent;
        if (a != null) Measured(a, "MQTT message", count >= 4 ? buffer[offset + 3] : -1, x => x.OnMqttMessage(topic, buffer, offset, count));
        Interlocked.Increment(ref _coreMessages);
        Wake();
    }

    private void OnPeer(byte[] buffer, int offset, int count)
    {
        Active();
        DeviceAgent? a = _agent;
        if (a != null) Measured(a, "peer message", count >= 4 ? buffer[offset + 3] : -1, x => x.OnPeerMessage(buffer, offset, count));
        Interlocked.Increment(ref _coreMessages);
        Wake();
    }

    private void PumpLoop()
    {
        while (!_cts.IsCancellationRequested)
        {
            DeviceAgent? a = _agent;
            bool did = false;
            try
            {
                did = a != null && Measured(a, "pump", -1, x => x.PumpOnce());
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                _o.Log?.Invoke($"[{_o.NodeId}] pump error: {e.Message}");
            }
            if (!did) _work.WaitOne(IdlePollMs);
        }
    }

    private void Tick()
    {
        if (_cts.IsCancellationRequested) return;
        DeviceAgent? a = _agent;
        if (a == null || _mqtt == null) return;
        try
        {
            long connects = _mqtt.Connects;
            if (connects != Interlocked.Read(ref _seenConnects)) Active();
            if (!TickDue(a)) return;
            if (connects != Interlocked.Read(ref _seenConnects) && _mqtt.IsConnected)
            {
                Interlocked.Exchange(ref _seenConnects, connects);
                Measured(a, "connect", -1, x => x.OnConnected());
            }
            Measured(a, "tick", -1, x => x.Tick());
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _o.Log?.Invoke($"[{_o.NodeId}] tick error: {e.Message}");
        }
    }

    /// <summary>The core asked for a reboot: start a fresh agent from flash (boot record, update state).</summary>
    public void RequestRestart()
    {
        // The reboot is the platform's (a thread here, a reset on a board): not the core's heap.
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        try { StartReboot(); } finally { AdapterAllocations.Add(allocated); }
    }

    private void StartReboot()
    {
        new Thread(() =>
        {
            // DisposeAsync takes this gate after cancelling, so a power-off waits for a reboot in progress and a
            // reboot that comes after the power-off does nothing: no handle is used after it was disposed.
            lock (_restartGate)
            {
                if (_cts.IsCancellationRequested) return;
                DeviceAgent? old = _agent;
                old?.Stop();
                bool afterInstall = old != null && old.Counters.Installs > 0;
                _previousPeerBytes += old?.Counters.PeerPayloadBytesSent ?? 0;
                _previousTreeRelays += old?.Counters.TreeRelays ?? 0;
                if (old != null)
                    _previousRepair = (_previousRepair.ToPeers + old.Counters.RepairRequestsSent, _previousRepair.ToGateway + old.Counters.GatewayRepairRequests,
                        _previousRepair.Duplicates + old.Counters.DuplicatePackets);
                _previousStagingHighWater = Math.Max(_previousStagingHighWater, old?.Counters.StagingHighWater ?? 0);
                HeapMeter.Reboot(afterInstall);
                DeviceAgent next = BootAgent();
                _agent = next;
                // An image on trial whose self-test fails (a no-op for an image that is not on trial).
                if (FailSelfTest) next.SelfTestFailed("injected self-test failure");
                Interlocked.Increment(ref _restarts);
                Active();
                if (_mqtt != null && _mqtt.IsConnected) next.OnConnected();
                _work.Set();
            }
        }) { IsBackground = true, Name = $"dev-{_o.NodeId}-reboot" }.Start();
    }

    /// <summary>Power off: no goodbye, the broker publishes the last will.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _cts.Cancel();
        lock (_restartGate) { } // a reboot thread past its cancellation check finishes first
        _agent?.Stop();
        _work.Set();
        _tick?.Dispose();
        _pump?.Join(2000);
        if (_mqtt != null) await _mqtt.DisposeAsync();
        _peer?.Dispose();
        _flash?.Dispose();
        _work.Dispose();
    }

    /// <summary>Wakes the forwarding thread; a message that lands while the device powers off is dropped.</summary>
    private void Wake()
    {
        try
        {
            _work.Set();
        }
        catch (ObjectDisposedException)
        {
        }
    }
}
