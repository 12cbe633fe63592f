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
    private readonly MqttClientOptions _options;
    private readonly Func<int, CancellationToken, Task>? _pace;
    private Action<string, byte[]> _onMessage = (_, _) => { };
    private readonly CancellationTokenSource _cts = new();
    private long _bytes, _messages;
    private int _disconnects;

    /// <param name="pace">waits until so many bytes may leave (the gateway's upload limit); null = unlimited</param>
    /// <param name="configure">more client options (TLS)</param>
    public GatewayMqttClient(string host, int port, string clientId, Func<int, CancellationToken, Task>? pace = null,
        string? user = null, string? password = null, Func<MqttClientOptionsBuilder, MqttClientOptionsBuilder>? configure = null)
    {
        _pace = pace;
        var b = new MqttClientOptionsBuilder().WithTcpServer(host, port).WithClientId(clientId).WithCleanSession(true)
            .WithTimeout(TimeSpan.FromSeconds(5)).WithKeepAlivePeriod(TimeSpan.FromSeconds(15));
        if (user != null) b = b.WithCredentials(user, password ?? "");
        if (configure != null) b = configure(b);
        _options = b.Build();
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

    public Task ConnectAsync(Action<string, byte[]> onMessage, CancellationToken ct)
    {
        _onMessage = onMessage;
        return ConnectCoreAsync(ct);
    }

    private async Task ConnectCoreAsync(CancellationToken ct)
    {
        await _client.ConnectAsync(_options, ct);
        var sub = new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter(Topics.AllDeviceStatus, MqttQualityOfServiceLevel.AtLeastOnce)
            .WithTopicFilter(Topics.AllDeviceOut, MqttQualityOfServiceLevel.AtLeastOnce)
            .Build();
        await _client.SubscribeAsync(sub, ct);
    }

    public async Task PublishAsync(string topic, byte[] payload, bool retain = false, BrokerQos qos = BrokerQos.AtLeastOnce, CancellationToken ct = default)
    {
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
