using MQTTnet;
using MQTTnet.Protocol;

namespace IotOta.VirtualDevice.Network;

/// <summary>The port's link upkeep: connecting (and subscribing again) with failover and backoff, and its own MQTT
/// keep-alive (<see cref="KeepAliveSchedule"/>): MQTTnet's keep-alive task is kept from starting while CONNECT still
/// asks the broker for the keep-alive, and the reconnect loop sends the pings.</summary>
public sealed partial class MqttDevicePort
{
    private async Task ConnectOnceAsync(CancellationToken ct)
    {
        await _connectLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            IMqttClient client = _client;
            if (client.IsConnected) return;
            MqttClientOptions options = _endpoints.CurrentOptions;
            MqttClientConnectResult result;
            // CONNECT asks the broker to hold this keep-alive (it drops a silent client after 1.5 × and publishes its
            // will), but MQTTnet's own keep-alive task must not start: once CONNECT is on its way the options say 0,
            // which MqttClient reads after the CONNACK to decide. The loop below pings instead.
            options.KeepAlivePeriod = _keepAliveAsked;
            _connecting = options;
            client.InspectPacketAsync += StopClientKeepAliveTask;
            try
            {
                result = await client.ConnectAsync(options, ct).ConfigureAwait(false);
            }
            catch (Exception) when (!ct.IsCancellationRequested)
            {
                _endpoints.Advance(); // this node is down or refuses: the next attempt goes to the next one
                throw;
            }
            finally
            {
                client.InspectPacketAsync -= StopClientKeepAliveTask;
                _connecting = null;
            }
            // A broker may set another keep-alive in its CONNACK (MQTT 5 Server Keep Alive); MQTTnet then runs its own
            // task with it too, and this port pings on the same period.
            _keepAlive.Period = result.ServerKeepAlive > 0 ? TimeSpan.FromSeconds(result.ServerKeepAlive) : _keepAliveAsked;
            _keepAlive.Sent(Environment.TickCount64);
            Interlocked.Increment(ref _connects);
            string[] topics;
            lock (_topics) topics = _topics.ToArray();
            if (topics.Length > 0)
            {
                var sb = new MqttClientSubscribeOptionsBuilder();
                foreach (string t in topics) sb = sb.WithTopicFilter(t, MqttQualityOfServiceLevel.AtLeastOnce);
                await client.SubscribeAsync(sb.Build(), ct).ConfigureAwait(false);
                _keepAlive.Sent(Environment.TickCount64);
            }
        }
        finally
        {
            _connectLock.Release();
        }
    }

    private async Task ReconnectLoop()
    {
        TimeSpan backoff = MinBackoff;
        CancellationToken ct = _cts.Token;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                if (IsConnected)
                {
                    backoff = MinBackoff;
                    TimeSpan untilPing = _keepAlive.UntilPing(Environment.TickCount64);
                    if (untilPing <= TimeSpan.Zero)
                    {
                        await PingAsync(ct).ConfigureAwait(false);
                        continue;
                    }
                    // Woken at once by a disconnect, else when a ping may be due (a wake-up per keep-alive period when
                    // idle; a 1 s safety net cost a fleet of 1,000 a thousand timer wake-ups a second doing nothing).
                    await _wake.WaitAsync(untilPing, ct).ConfigureAwait(false);
                    continue;
                }
                await Task.Delay(backoff, ct).ConfigureAwait(false);
                await ConnectOnceAsync(ct).ConfigureAwait(false);
                backoff = MinBackoff;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception)
            {
                backoff = TimeSpan.FromTicks(Math.Min(MaxBackoff.Ticks, backoff.Ticks * 2));
            }
        }
    }

    /// <summary>Inspects the packets while connecting: the first one sent is CONNECT, already encoded with the
    /// keep-alive; from then on the options say 0 (see ConnectOnceAsync). A CONNACK with a Server Keep Alive (ejabberd
    /// sends one) makes MQTTnet run its keep-alive task anyway, and that task reads its period from the options: they
    /// get the broker's period back before MQTTnet reads the CONNACK (with 0 it pinged at once with no time to wait
    /// for the answer and dropped every connection).</summary>
    private Task StopClientKeepAliveTask(MQTTnet.Diagnostics.PacketInspection.InspectMqttPacketEventArgs e)
    {
        MqttClientOptions? options = _connecting;
        if (options == null || e.Buffer.Length == 0) return Task.CompletedTask;
        if (e.Direction == MQTTnet.Diagnostics.PacketInspection.MqttPacketFlowDirection.Outbound && e.Buffer[0] >> 4 == 1)
            options.KeepAlivePeriod = TimeSpan.Zero;
        else if (e.Direction == MQTTnet.Diagnostics.PacketInspection.MqttPacketFlowDirection.Inbound && e.Buffer[0] >> 4 == 2
                 && ConnAckKeepAlive.ServerKeepAlive(e.Buffer) is > 0 and var serverKeepAlive)
            options.KeepAlivePeriod = TimeSpan.FromSeconds(serverKeepAlive);
        return Task.CompletedTask;
    }

    /// <summary>True when MQTTnet's own keep-alive task was kept from starting on the last connect (tests).</summary>
    internal bool ClientKeepAliveTaskStopped => _endpoints.CurrentOptions.KeepAlivePeriod == TimeSpan.Zero;

    /// <summary>One PINGREQ, waiting for the PINGRESP as long as the keep-alive period (as a board's M2Mqtt does). No
    /// answer means the link is gone: the port drops it without a DISCONNECT, so the broker publishes the will (as
    /// after MQTTnet's own keep-alive failure, or M2Mqtt's), and the loop reconnects on a new client.</summary>
    private async Task PingAsync(CancellationToken ct)
    {
        IMqttClient client = _client;
        _keepAlive.Sent(Environment.TickCount64);
        Interlocked.Increment(ref _pings);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(_keepAlive.Period);
        try
        {
            await client.PingAsync(timeout.Token).ConfigureAwait(false);
            return;
        }
        catch (Exception) when (!ct.IsCancellationRequested)
        {
            if (!client.IsConnected) return; // it went down meanwhile; the disconnect woke the loop
        }
        Interlocked.Increment(ref _pingFailures);
        // MqttClient has no way to close without a DISCONNECT but Dispose (and a DISCONNECT, even with MQTT 5 reason 4,
        // loses the will on MQTTnet's broker): the port goes on with a new client.
        await _connectLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (!ReferenceEquals(_client, client)) return;
            _client = NewClient();
        }
        finally
        {
            _connectLock.Release();
        }
        client.Dispose();
    }
}
