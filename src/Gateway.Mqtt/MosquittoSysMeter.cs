using System.Globalization;
using MQTTnet;

namespace IotOta.Gateway.Mqtt;

/// <summary>
/// Reads a Mosquitto broker's own byte counters, <c>$SYS/broker/bytes/sent</c> and <c>/received</c> (every byte on
/// every client socket; published every <c>sys_interval</c> seconds, so start the broker with <c>sys_interval 1</c>).
/// Mosquitto does not split them by topic: the data part is what the caller says its data PUBLISHes cost on the wire
/// (<see cref="GatewayMqttClient.DataWireBytesPublished"/>: each original or repair copy reaches exactly one device),
/// control is the rest. A broker that publishes no such counters (ejabberd, MQTTnet) makes
/// <see cref="StartAsync"/> return null after the wait.
/// </summary>
public sealed class MosquittoSysMeter : IAsyncDisposable
{
    public const string BytesSent = "$SYS/broker/bytes/sent";
    public const string BytesReceived = "$SYS/broker/bytes/received";
    private readonly IMqttClient _client;
    private readonly object _gate = new();
    private long _sent = -1, _received = -1, _updates;

    private MosquittoSysMeter(IMqttClient client) { _client = client; }

    public static async Task<MosquittoSysMeter?> StartAsync(string host, int port, TimeSpan wait, CancellationToken ct,
        string? user = null, string? password = null)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        var m = new MosquittoSysMeter(client);
        client.ApplicationMessageReceivedAsync += e =>
        {
            string v = System.Text.Encoding.ASCII.GetString(System.Buffers.BuffersExtensions.ToArray(e.ApplicationMessage.Payload));
            if (long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out long n))
            {
                lock (m._gate)
                {
                    if (e.ApplicationMessage.Topic == BytesSent) { m._sent = n; m._updates++; }
                    else if (e.ApplicationMessage.Topic == BytesReceived) m._received = n;
                }
            }
            return Task.CompletedTask;
        };
        var b = new MqttClientOptionsBuilder().WithTcpServer(host, port).WithClientId("iotota-sys-" + Guid.NewGuid().ToString("N")[..8])
            .WithCleanSession(true).WithKeepAlivePeriod(TimeSpan.FromSeconds(120)).WithTimeout(TimeSpan.FromSeconds(30));
        if (user != null) b = b.WithCredentials(user, password ?? "");
        try
        {
            await client.ConnectAsync(b.Build(), ct);
            await client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(BytesSent).WithTopicFilter(BytesReceived).Build(), ct);
            var deadline = DateTime.UtcNow + wait;
            while (DateTime.UtcNow < deadline)
            {
                lock (m._gate) if (m._sent >= 0 && m._received >= 0) return m;
                await Task.Delay(50, ct);
            }
        }
        catch (Exception) when (!ct.IsCancellationRequested)
        {
            // no broker counters to read: the caller reports none
        }
        await m.DisposeAsync();
        return null;
    }

    /// <summary>The counters as of a $SYS update that came after this call (waits up to 20 s).</summary>
    public async Task<(long Sent, long Received)> FreshAsync(CancellationToken ct)
    {
        long seen;
        lock (_gate) seen = _updates;
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            lock (_gate) if (_updates > seen && _received >= 0) return (_sent, _received);
            await Task.Delay(50, ct);
        }
        throw new TimeoutException($"the broker published no {BytesSent} within 20 s (sys_interval must be set)");
    }

    /// <summary>A snapshot as <see cref="BrokerBytes"/> with the given data bytes (each data PUBLISH comes in from the
    /// gateway and goes out to one device at the same size; devices send no data over the broker).</summary>
    public async Task<BrokerBytes> SnapshotAsync(long dataSent, CancellationToken ct)
    {
        var (s, r) = await FreshAsync(ct);
        return new BrokerBytes("mosquitto $SYS/broker/bytes/sent|received (all client bytes, ±1 s of idle traffic); data = the gateway's data PUBLISHes at wire size",
            s, r, dataSent, dataSent, new SortedDictionary<string, long>(), new SortedDictionary<string, long>());
    }

    /// <summary>The last counters the broker published (up to sys_interval old), without waiting.</summary>
    public BrokerBytes Latest(long dataSent)
    {
        lock (_gate)
        {
            return new BrokerBytes("mosquitto $SYS/broker/bytes/sent|received (all client bytes, up to sys_interval old); data = the gateway's data PUBLISHes at wire size",
                _sent, _received, dataSent, dataSent, new SortedDictionary<string, long>(), new SortedDictionary<string, long>());
        }
    }

    public async ValueTask DisposeAsync()
    {
        try { if (_client.IsConnected) await _client.DisconnectAsync(); } catch (Exception) { }
        _client.Dispose();
    }
}
