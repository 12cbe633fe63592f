using System.Buffers;
using IotOta.Gateway.Node;
using IotOta.Shared.Protocol;
using MQTTnet;
using MQTTnet.Exceptions;
using MQTTnet.Protocol;

namespace IotOta.Gateway.Mqtt;

/// <summary>
/// The gateway's MQTT link (MQTTnet 5), the core's <see cref="IBrokerPort"/>: subscribes to every device's status and
/// outbound topics, hands each message to the handler, publishes through the gateway's upload limit (pace), and
/// reconnects by itself. With a user it sends its credentials (its client id must then be its username); configure
/// adds TLS (trusting only a private CA). The password is never logged: <see cref="LastDisconnect"/> holds reasons and
/// exception messages only.
/// </summary>
public sealed class GatewayMqttClient : IBrokerPort
{
    private readonly IMqttClient _client;
    private readonly MqttEndpointRotation _endpoints;
    private readonly Func<int, CancellationToken, Task>? _pace;
    private Action<string, byte[]> _onMessage = (_, _) => { };
    private readonly CancellationTokenSource _cts = new();
    private long _bytes, _messages;
    private int _disconnects;

    /// <param name="pace">waits until so many bytes may leave (the gateway's upload limit); null = unlimited</param>
    /// <param name="configure">more client options (TLS)</param>
    public GatewayMqttClient(string host, int port, string clientId, Func<int, CancellationToken, Task>? pace = null,
        string? user = null, string? password = null, Func<MqttClientOptionsBuilder, MqttClientOptionsBuilder>? configure = null)
        : this([new MqttEndpoint(host, port)], clientId, pace, user, password, configure)
    {
    }

    /// <summary>A link that fails over between <paramref name="endpoints"/> (the nodes of a broker cluster, in this
    /// order). It speaks MQTT 5, so that the broker's limits are known at connect (<see cref="Limits"/>).</summary>
    public GatewayMqttClient(IReadOnlyList<MqttEndpoint> endpoints, string clientId, Func<int, CancellationToken, Task>? pace = null,
        string? user = null, string? password = null, Func<MqttClientOptionsBuilder, MqttClientOptionsBuilder>? configure = null)
    {
        _pace = pace;
        _endpoints = new MqttEndpointRotation(endpoints, ep =>
        {
            var b = new MqttClientOptionsBuilder().WithTcpServer(ep.Host, ep.Port).WithClientId(clientId).WithCleanSession(true)
                .WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500)
                .WithTimeout(TimeSpan.FromSeconds(5)).WithKeepAlivePeriod(TimeSpan.FromSeconds(15));
            if (user != null) b = b.WithCredentials(user, password ?? "");
            if (configure != null) b = configure(b);
            return b.Build();
        });
        _client = new MqttClientFactory().CreateMqttClient();
        _client.ApplicationMessageReceivedAsync += e =>
        {
            try
            {
                _onMessage(e.ApplicationMessage.Topic, e.ApplicationMessage.Payload.ToArray());
            }
            catch (Exception ex)
            {
                HandlerErrors++;
                LastHandlerError = ex;
            }
            return Task.CompletedTask;
        };
        _client.DisconnectedAsync += async e =>
        {
            Interlocked.Increment(ref _disconnects);
            LastDisconnect = $"{e.Reason} {e.ReasonString} {e.Exception?.GetType().Name}: {e.Exception?.Message}";
            Disconnected?.Invoke(LastDisconnect);
            while (!_cts.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(200, _cts.Token);
                    if (_client.IsConnected) return;
                    await ConnectCoreAsync(_cts.Token);
                    Reconnected?.Invoke();
                    return;
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                catch (Exception)
                {
                    // broker not back yet; try again
                }
            }
        };
    }

    public long BytesPublished => Interlocked.Read(ref _bytes);
    public long MessagesPublished => Interlocked.Read(ref _messages);
    public int HandlerErrors { get; private set; }
    public int Disconnects => Volatile.Read(ref _disconnects);
    public string? LastDisconnect { get; private set; }
    public event Action<string>? Disconnected;
    public event Action? Reconnected;
    public Exception? LastHandlerError { get; private set; }
    public bool IsConnected => _client.IsConnected;
    /// <summary>The broker endpoint in use (or tried next).</summary>
    public MqttEndpoint Endpoint => _endpoints.Current;
    /// <summary>What the broker said about its limits at the last connect (null before the first).</summary>
    public BrokerLimits? Limits { get; private set; }
    /// <summary>The largest MQTT packet the gateway must be able to send (<see cref="BrokerLimits.PacketBytesFor"/> of
    /// the chunk size); a broker that takes less is refused at connect. 0 = no check.</summary>
    public int RequiredPacketBytes { get; set; }
    /// <summary>The last retained message published on each topic (what the gateway answers a device with when a
    /// broker node lost or never had it).</summary>
    public Fleet.RetainedLedger Retained { get; } = new();
    Fleet.RetainedLedger? IBrokerPort.Retained => Retained;

    /// <summary>Connects (each endpoint once, in order, until one answers) and subscribes; throws
    /// <see cref="BrokerLimitException"/> when the broker's limits are too small for <see cref="RequiredPacketBytes"/>.</summary>
    public async Task ConnectAsync(Action<string, byte[]> onMessage, CancellationToken ct)
    {
        _onMessage = onMessage;
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                await ConnectCoreAsync(ct);
                return;
            }
            catch (Exception) when (attempt < _endpoints.Endpoints.Count && !ct.IsCancellationRequested)
            {
            }
        }
    }

    private async Task ConnectCoreAsync(CancellationToken ct)
    {
        MqttClientConnectResult result;
        MqttEndpoint endpoint = _endpoints.Current;
        try
        {
            result = await _client.ConnectAsync(_endpoints.CurrentOptions, ct);
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            _endpoints.Advance(); // this node is down or refuses: the next attempt goes to the next one
            throw new MqttCommunicationException($"broker {endpoint}: cannot connect: {e.Message}", e);
        }
        if (result.ResultCode != MqttClientConnectResultCode.Success)
        {
            _endpoints.Advance();
            throw new MqttCommunicationException(
                $"broker {endpoint} refused the connection: {result.ResultCode}{(string.IsNullOrEmpty(result.ReasonString) ? "" : " (" + result.ReasonString + ")")}" +
                (result.ResultCode is MqttClientConnectResultCode.BadUserNameOrPassword or MqttClientConnectResultCode.NotAuthorized
                    ? "; check IotOta:Mqtt:Username and the password (IotOta__Mqtt__Password or IotOta:Mqtt:PasswordFile)" : ""));
        }
        Limits = BrokerLimits.From(result);
        if (RequiredPacketBytes > 0 && Limits.Check(RequiredPacketBytes) is { } refusal)
        {
            try { await _client.DisconnectAsync(cancellationToken: ct); } catch (Exception) { /* refusing anyway */ }
            _cts.Cancel(); // no reconnect to a broker that cannot carry the packets
            throw new BrokerLimitException($"broker {endpoint}: {refusal}");
        }
        if (RequiredPacketBytes > 0 && !_probed) await ProbePacketSizeAsync(endpoint, ct);
        var sub = new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter(Topics.AllDeviceStatus, MqttQualityOfServiceLevel.AtLeastOnce)
            .WithTopicFilter(Topics.AllDeviceOut, MqttQualityOfServiceLevel.AtLeastOnce)
            .Build();
        await _client.SubscribeAsync(sub, ct);
    }

    /// <summary>Topic of the start-up probe: a device in-topic no device has (node ids start at 1), which the gateway
    /// may write under the topic ACL and nobody reads.</summary>
    public static readonly string ProbeTopic = Topics.DeviceIn(0);
    private bool _probed;

    /// <summary>Many brokers (ejabberd among them) do not announce their packet limit in CONNACK but drop the
    /// connection on a packet that is too large. So once, at start, the gateway publishes one packet of
    /// <see cref="RequiredPacketBytes"/> at QoS 1 on <see cref="ProbeTopic"/>: acknowledged, the broker carries chunks of
    /// this size; refused or disconnected, the start fails with <see cref="BrokerLimitException"/>.</summary>
    private async Task ProbePacketSizeAsync(MqttEndpoint endpoint, CancellationToken ct)
    {
        var payload = new byte[Math.Max(1, RequiredPacketBytes - ProbeTopic.Length - BrokerLimits.PublishOverhead + 24)];
        var msg = new MqttApplicationMessageBuilder().WithTopic(ProbeTopic).WithPayload(payload)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build();
        string? refusal;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            var r = await _client.PublishAsync(msg, timeout.Token);
            refusal = r.IsSuccess ? null : $"refused a {RequiredPacketBytes}-byte packet ({r.ReasonCode} {r.ReasonString})";
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            await Task.Delay(100, CancellationToken.None); // let the disconnect reason arrive
            refusal = $"dropped the connection on a {RequiredPacketBytes}-byte packet ({LastDisconnect ?? e.Message})";
        }
        if (refusal == null)
        {
            _probed = true;
            return;
        }
        _cts.Cancel(); // no reconnect to a broker that cannot carry the packets
        try { if (_client.IsConnected) await _client.DisconnectAsync(cancellationToken: ct); } catch (Exception) { /* refusing anyway */ }
        throw new BrokerLimitException($"broker {endpoint} {refusal}: its maximum packet size is too small for this chunk size; " +
                                       "lower --chunk-size or raise the broker's limit (ejabberd: max_payload_size of the mod_mqtt listener; Mosquitto: max_packet_size)");
    }

    public async Task PublishAsync(string topic, byte[] payload, bool retain = false, BrokerQos qos = BrokerQos.AtLeastOnce, CancellationToken ct = default)
    {
        if (Limits is { MaximumPacketSize: > 0 } l && payload.Length + topic.Length + BrokerLimits.PublishOverhead > l.MaximumPacketSize)
            throw new BrokerLimitException($"a {payload.Length}-byte message on {topic} is larger than the broker's maximum packet size ({l.MaximumPacketSize} bytes)");
        if (_pace != null) await _pace(payload.Length, ct);
        var msg = new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithRetainFlag(retain)
            .WithQualityOfServiceLevel(qos == BrokerQos.AtMostOnce ? MqttQualityOfServiceLevel.AtMostOnce : MqttQualityOfServiceLevel.AtLeastOnce).Build();
        try
        {
            await _client.PublishAsync(msg, ct);
        }
        catch (MqttCommunicationException e)
        {
            throw new BrokerLinkException($"publish to {topic} failed: {e.Message}", e);
        }
        if (retain) Retained.Record(topic, payload);
        Interlocked.Add(ref _bytes, payload.Length);
        Interlocked.Increment(ref _messages);
    }

    public async ValueTask DisposeAsync()
    {
        _cts.Cancel();
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
