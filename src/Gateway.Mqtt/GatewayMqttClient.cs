using System.Buffers;
using IotOta.Shared.Protocol;
using IotOta.VirtualDevice.Network;
using MQTTnet;
using MQTTnet.Protocol;

namespace IotOta.Gateway.Mqtt;

/// <summary>
/// The gateway's MQTT link (MQTTnet 5): subscribes to every device's status and outbound topics, hands each message
/// to the handler, publishes through the gateway's upload limit, and reconnects by itself. With a user it sends its
/// credentials (its client id must then be its username); with <see cref="MqttTls"/> it speaks TLS trusting only that
/// CA. The password is never logged: <see cref="LastDisconnect"/> holds reasons and exception messages only.
/// </summary>
public sealed class GatewayMqttClient : IAsyncDisposable
{
    private readonly IMqttClient _client;
    private readonly MqttClientOptions _options;
    private readonly TokenBucket? _up;
    private readonly Action<string, byte[]> _onMessage;
    private readonly CancellationTokenSource _cts = new();
    private long _bytes, _messages;

    public GatewayMqttClient(string host, int port, string clientId, Action<string, byte[]> onMessage, TokenBucket? upBucket = null,
        string? user = null, string? password = null, MqttTls? tls = null)
    {
        _onMessage = onMessage;
        _up = upBucket;
        var b = new MqttClientOptionsBuilder().WithTcpServer(host, port).WithClientId(clientId).WithCleanSession(true)
            .WithTimeout(TimeSpan.FromSeconds(5)).WithKeepAlivePeriod(TimeSpan.FromSeconds(15));
        if (user != null) b = b.WithCredentials(user, password ?? "");
        if (tls != null) b = tls.Apply(b);
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
            Disconnects++;
            LastDisconnect = $"{e.Reason} {e.ReasonString} {e.Exception?.GetType().Name}: {e.Exception?.Message}";
            OnDisconnected?.Invoke(LastDisconnect);
            while (!_cts.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(200, _cts.Token);
                    if (_client.IsConnected) return;
                    await ConnectCoreAsync(_cts.Token);
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
    public int Disconnects { get; private set; }
    public string? LastDisconnect { get; private set; }
    public event Action<string>? OnDisconnected;
    public Exception? LastHandlerError { get; private set; }
    public bool IsConnected => _client.IsConnected;

    public Task ConnectAsync(CancellationToken ct) => ConnectCoreAsync(ct);

    private async Task ConnectCoreAsync(CancellationToken ct)
    {
        await _client.ConnectAsync(_options, ct);
        var sub = new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter(Topics.AllDeviceStatus, MqttQualityOfServiceLevel.AtLeastOnce)
            .WithTopicFilter(Topics.AllDeviceOut, MqttQualityOfServiceLevel.AtLeastOnce)
            .Build();
        await _client.SubscribeAsync(sub, ct);
    }

    public async Task PublishAsync(string topic, byte[] payload, bool retain = false,
        MqttQualityOfServiceLevel qos = MqttQualityOfServiceLevel.AtLeastOnce, CancellationToken ct = default)
    {
        if (_up != null) await _up.ConsumeAsync(payload.Length, ct);
        var msg = new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithRetainFlag(retain)
            .WithQualityOfServiceLevel(qos).Build();
        await _client.PublishAsync(msg, ct);
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
