using IotOta.Gateway.Mqtt;
using System.Buffers;
using IotOta.DeviceFirmware.Ports;
using MQTTnet;
using MQTTnet.Protocol;

namespace IotOta.VirtualDevice.Network;

/// <summary>
/// The device's MQTT link on MQTTnet 5. Connects with a clean session and a retained QoS 1 last will, subscribes
/// (QoS 1) to every topic given to <see cref="Subscribe"/> after each (re)connect, and reconnects by itself with a
/// short backoff until disposed. Publish is synchronous and QoS 1 (it waits for the broker's ack) and may be called
/// from several threads. Received messages pass the down bucket and go to the handler one at a time, in order; the
/// handler's buffer is reused, so it must not keep it.
/// <para>DisposeAsync drops the connection without a DISCONNECT packet, like a power loss, so the broker publishes
/// the will; call <see cref="DisconnectAsync"/> first for a clean goodbye.</para>
/// <para>With a user the port sends its credentials (a device's username is also its client id); with
/// <see cref="MqttTls"/> it speaks TLS and trusts only that CA. The password is never logged or shown.</para>
/// </summary>
public sealed partial class MqttDevicePort : IMqttPort, IAsyncDisposable
{
    public static readonly TimeSpan PublishTimeout = TimeSpan.FromSeconds(10);
    /// <summary>MQTT keep-alive period, and how long a ping, connect or subscribe waits for its answer.</summary>
    public static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(15);
    public static readonly TimeSpan MinBackoff = TimeSpan.FromMilliseconds(100);
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(2);

    private volatile IMqttClient _client;
    private MqttClientOptions? _connecting;
    private readonly MqttEndpointRotation _endpoints;
    private readonly Action<string, byte[], int, int> _onMessage;
    private readonly TokenBucket? _up;
    private readonly TokenBucket? _down;
    private readonly LinkProfile _link;
    private readonly List<string> _topics = new();
    private readonly Dictionary<string, string> _aliases = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _connectLock = new(1, 1);
    private readonly SemaphoreSlim _wake = new(0, int.MaxValue);
    private readonly CancellationTokenSource _cts = new();
    private byte[] _receiveBuffer = new byte[4096];
    private Task? _reconnectLoop;
    private readonly TimeSpan _keepAliveAsked;
    private readonly KeepAliveSchedule _keepAlive;
    private long _messagesSent, _bytesSent, _messagesReceived, _bytesReceived, _dropped, _connects, _handlerErrors, _pings, _pingFailures;
    private volatile bool _disposed;

    public MqttDevicePort(string host, int port, string clientId, string? user, string? password, string willTopic, byte[] willPayload,
        Action<string, byte[], int, int> onMessage, TokenBucket? upBucket, TokenBucket? downBucket, LinkProfile link, MqttTls? tls = null,
        TimeSpan? keepAlive = null)
        : this([new MqttEndpoint(host ?? throw new ArgumentNullException(nameof(host)), port)], clientId, user, password, willTopic, willPayload,
            onMessage, upBucket, downBucket, link, tls, keepAlive)
    {
    }

    /// <summary>A port that fails over between <paramref name="endpoints"/> (the nodes of a broker cluster, tried in
    /// this order): a connect that fails moves on to the next one. <paramref name="keepAlive"/> is the MQTT keep-alive
    /// (<see cref="KeepAlive"/> when null; whole seconds, at least 1).</summary>
    public MqttDevicePort(IReadOnlyList<MqttEndpoint> endpoints, string clientId, string? user, string? password, string willTopic, byte[] willPayload,
        Action<string, byte[], int, int> onMessage, TokenBucket? upBucket, TokenBucket? downBucket, LinkProfile link, MqttTls? tls = null,
        TimeSpan? keepAlive = null)
    {
        _keepAliveAsked = keepAlive ?? KeepAlive;
        if (_keepAliveAsked.Ticks % TimeSpan.TicksPerSecond != 0)
            throw new ArgumentOutOfRangeException(nameof(keepAlive), keepAlive, "an MQTT keep-alive is whole seconds");
        _keepAlive = new KeepAliveSchedule(_keepAliveAsked, Environment.TickCount64);
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(clientId);
        ArgumentNullException.ThrowIfNull(willTopic);
        ArgumentNullException.ThrowIfNull(willPayload);
        _onMessage = onMessage ?? throw new ArgumentNullException(nameof(onMessage));
        _up = upBucket;
        _down = downBucket;
        _link = link ?? LinkProfile.Unlimited;
        ClientId = clientId;

        byte[] will = (byte[])willPayload.Clone();
        _endpoints = new MqttEndpointRotation(endpoints, ep =>
        {
            MqttClientOptionsBuilder b = new MqttClientOptionsBuilder()
                .WithTcpServer(ep.Host, ep.Port)
                .WithClientId(clientId)
                .WithCleanSession(true)
                // A board's M2Mqtt waits for PINGRESP as long as the keep-alive period ("broker must send PINGRESP
                // within timeout equal to keep alive period", MqttClient.Ping in nanoFramework.M2Mqtt 5.1): with 5 s,
                // a busy broker uplink at 1,000 devices dropped virtual devices a board would have kept.
                .WithTimeout(_keepAliveAsked)
                .WithKeepAlivePeriod(_keepAliveAsked)
                .WithWillTopic(willTopic)
                .WithWillPayload(will)
                .WithWillRetain(true)
                .WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce);
            if (user != null) b = b.WithCredentials(user, password ?? "");
            if (tls != null) b = tls.Apply(b);
            MqttClientOptions options = b.Build();
            if (options.ChannelOptions is MqttClientTcpOptions tcp) tcp.NoDelay = true;
            return options;
        });

        _client = NewClient();
    }

    private IMqttClient NewClient()
    {
        IMqttClient client = new MqttClientFactory().CreateMqttClient();
        client.ApplicationMessageReceivedAsync += OnReceived;
        client.DisconnectedAsync += _ =>
        {
            if (!_disposed) _wake.Release();
            return Task.CompletedTask;
        };
        return client;
    }

    public string ClientId { get; }
    /// <summary>The broker endpoint this port uses now (or tries next).</summary>
    public MqttEndpoint Endpoint => _endpoints.Current;
    /// <summary>Times the port moved on to another broker endpoint after a failed connect.</summary>
    public long EndpointSwitches => _endpoints.Switches;
    public bool IsConnected => !_disposed && _client.IsConnected;

    public long MessagesSent => Interlocked.Read(ref _messagesSent);
    public long BytesSent => Interlocked.Read(ref _bytesSent);
    public long MessagesReceived => Interlocked.Read(ref _messagesReceived);
    public long BytesReceived => Interlocked.Read(ref _bytesReceived);
    /// <summary>Publishes that failed (not connected, timed out, or refused); Publish returned false.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);
    /// <summary>Successful connects, the first included.</summary>
    public long Connects => Interlocked.Read(ref _connects);
    public long HandlerErrors => Interlocked.Read(ref _handlerErrors);
    /// <summary>PINGREQs this port sent (it keeps the keep-alive itself; see <see cref="KeepAliveSchedule"/>).</summary>
    public long Pings => Interlocked.Read(ref _pings);
    /// <summary>Pings that got no PINGRESP within the keep-alive period: the port dropped the link (with its will) and
    /// reconnected, as MQTTnet's own keep-alive would.</summary>
    public long PingFailures => Interlocked.Read(ref _pingFailures);
    public Exception? LastHandlerError { get; private set; }
    /// <summary>Sees each received message (topic, buffer, offset, count) just before the device core takes it, on the
    /// same thread (fault suite: what a device held when a packet arrived). Null = nothing.</summary>
    public Action<string, byte[], int, int>? BeforeHandle { get; set; }

    /// <summary>Connects (and subscribes) once and starts the background reconnect loop. Throws when this first
    /// attempt fails on every endpoint; the loop keeps trying anyway until the port is disposed.</summary>
    public async Task ConnectAsync(CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _reconnectLoop ??= Task.Run(ReconnectLoop);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, _cts.Token);
        // Each endpoint once (a cluster node that is down is not the end); the last failure is thrown.
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                await ConnectOnceAsync(linked.Token).ConfigureAwait(false);
                return;
            }
            catch (Exception) when (attempt < _endpoints.Endpoints.Count && !linked.IsCancellationRequested)
            {
            }
        }
    }

    /// <summary>A clean DISCONNECT (the broker does not publish the will). The port stops reconnecting and stays
    /// disconnected; only DisposeAsync is useful after it.</summary>
    public async Task DisconnectAsync()
    {
        if (_disposed) return;
        _cts.Cancel();
        Task? loop = _reconnectLoop;
        if (loop != null)
        {
            try { await loop.ConfigureAwait(false); } catch (Exception) { }
        }
        await _connectLock.WaitAsync().ConfigureAwait(false);
        try
        {
            IMqttClient client = _client;
            if (client.IsConnected) await client.DisconnectAsync(new MqttClientDisconnectOptions()).ConfigureAwait(false);
        }
        finally
        {
            _connectLock.Release();
        }
    }

    public bool Publish(string topic, byte[] buffer, int offset, int count, bool retain)
        => Send(topic, buffer, offset, count, MqttQualityOfServiceLevel.AtLeastOnce, retain);

    public bool PublishAtMostOnce(string topic, byte[] buffer, int offset, int count)
        => Send(topic, buffer, offset, count, MqttQualityOfServiceLevel.AtMostOnce, false);

    private bool Send(string topic, byte[] buffer, int offset, int count, MqttQualityOfServiceLevel qos, bool retain)
    {
        IMqttClient client = _client;
        if (_disposed || !client.IsConnected || topic == null || buffer == null || offset < 0 || count < 0 || (long)offset + count > buffer.Length)
        {
            Interlocked.Increment(ref _dropped);
            return false;
        }
        try
        {
            _up?.Consume(count, _cts.Token);
            if (_link.Latency > TimeSpan.Zero && _cts.Token.WaitHandle.WaitOne(_link.Latency))
            {
                Interlocked.Increment(ref _dropped);
                return false;
            }
            byte[] copy = buffer.AsSpan(offset, count).ToArray();
            MqttApplicationMessage message = new MqttApplicationMessageBuilder()
                .WithTopic(topic)
                .WithPayload(copy)
                .WithQualityOfServiceLevel(qos)
                .WithRetainFlag(retain)
                .Build();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_cts.Token);
            timeout.CancelAfter(PublishTimeout);
            MqttClientPublishResult result = client.PublishAsync(message, timeout.Token).GetAwaiter().GetResult();
            if (!result.IsSuccess)
            {
                Interlocked.Increment(ref _dropped);
                return false;
            }
            _keepAlive.Sent(Environment.TickCount64);
            Interlocked.Increment(ref _messagesSent);
            Interlocked.Add(ref _bytesSent, count);
            return true;
        }
        catch (Exception)
        {
            Interlocked.Increment(ref _dropped);
            return false;
        }
    }

    /// <summary>Remembers the topic for every later (re)connect and, when connected, subscribes now without waiting
    /// for the broker's answer (so it is safe to call from inside the message handler).</summary>
    public void Subscribe(string topic)
    {
        ArgumentNullException.ThrowIfNull(topic);
        lock (_topics)
        {
            if (!_topics.Contains(topic)) _topics.Add(topic);
        }
        // Subscribing again is sent again: the broker then re-sends the topic's retained message, which is what a
        // core that restarted (and lost its member list) needs, as after a real reboot.
        if (!_client.IsConnected) return;
        _ = SubscribeNowAsync(topic);
    }

    /// <summary>True when this port subscribed the topic on the connection it holds: the virtual device keeps its MQTT
    /// session across a restart of its core (as a board with a persistent session would), so a core that kept what the
    /// topic's retained message brings (its member list, in flash) need not subscribe again.</summary>
    public bool Subscribed(string topic)
    {
        if (!_client.IsConnected) return false;
        lock (_topics) return _topics.Contains(topic);
    }

    /// <summary>Subscribes to <paramref name="topic"/> like <see cref="Subscribe(string)"/>, and hands what arrives on it
    /// to the handler as if it came on <paramref name="deliverAs"/> (a group topic the broker replicates, read as the
    /// device's own in-topic: the benchmark's group-fanout strategy, which protocol v1 has no subscription for).</summary>
    public void Subscribe(string topic, string deliverAs)
    {
        ArgumentNullException.ThrowIfNull(topic);
        ArgumentNullException.ThrowIfNull(deliverAs);
        lock (_aliases) _aliases[topic] = deliverAs;
        Subscribe(topic);
    }

    private async Task SubscribeNowAsync(string topic)
    {
        try
        {
            await _client.SubscribeAsync(topic, MqttQualityOfServiceLevel.AtLeastOnce, _cts.Token).ConfigureAwait(false);
            _keepAlive.Sent(Environment.TickCount64);
        }
        catch (Exception)
        {
            // not connected any more: the next connect subscribes again
        }
    }

    private async Task OnReceived(MqttApplicationMessageReceivedEventArgs e)
    {
        try
        {
            // MQTTnet answers a QoS 1 message with a PUBACK: a packet sent, for the keep-alive.
            if (e.ApplicationMessage.QualityOfServiceLevel != MqttQualityOfServiceLevel.AtMostOnce) _keepAlive.Sent(Environment.TickCount64);
            ReadOnlySequence<byte> payload = e.ApplicationMessage.Payload;
            int len = checked((int)payload.Length);
            // Wait for the down link without blocking a pool thread (a thousand devices share the pool); MQTTnet
            // hands this client's messages over one at a time, so the order and the reused buffer stay safe.
            if (_down != null) await _down.ConsumeAsync(len, _cts.Token).ConfigureAwait(false);
            if (_receiveBuffer.Length < len) _receiveBuffer = new byte[Math.Max(len, _receiveBuffer.Length * 2)];
            payload.CopyTo(_receiveBuffer);
            Interlocked.Increment(ref _messagesReceived);
            Interlocked.Add(ref _bytesReceived, len);
            string topic = e.ApplicationMessage.Topic;
            if (_aliases.Count > 0)
            {
                lock (_aliases) topic = _aliases.GetValueOrDefault(topic, topic);
            }
            BeforeHandle?.Invoke(topic, _receiveBuffer, 0, len);
            _onMessage(topic, _receiveBuffer, 0, len);
        }
        catch (OperationCanceledException) when (_cts.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            LastHandlerError = ex;
            Interlocked.Increment(ref _handlerErrors);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        _cts.Cancel();
        if (_reconnectLoop != null)
        {
            try { await _reconnectLoop.ConfigureAwait(false); } catch (Exception) { }
        }
        _client.Dispose();
        _cts.Dispose();
    }
}
