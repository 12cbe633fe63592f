namespace IotOta.VirtualDevice.Network;

/// <summary>
/// When a device's MQTT link must send a PINGREQ: once <see cref="Period"/> has passed since the last packet the client
/// sent (MQTT 3.1.2-23: within the keep-alive the client must send something; the broker drops it after 1.5 ×). The
/// port keeps this schedule itself instead of MQTTnet's keep-alive task, which wakes every 250 ms whatever the period
/// (MQTTnet 5 <c>MqttClient.TrySendKeepAliveMessages</c>): 4,000 timer wake-ups a second for an idle fleet of 1,000,
/// about 70 % of its CPU. Times are milliseconds on one monotonic clock (<see cref="Environment.TickCount64"/> in the
/// port). Thread-safe.
/// </summary>
public sealed class KeepAliveSchedule
{
    private long _lastSentMs;
    private long _periodMs;

    public KeepAliveSchedule(TimeSpan period, long nowMs)
    {
        Period = period;
        _lastSentMs = nowMs;
    }

    /// <summary>The keep-alive in force: what CONNECT asked for, or what the broker's CONNACK set instead.</summary>
    public TimeSpan Period
    {
        get => TimeSpan.FromMilliseconds(Interlocked.Read(ref _periodMs));
        set
        {
            if (value < TimeSpan.FromSeconds(1) || value.TotalSeconds > ushort.MaxValue)
                throw new ArgumentOutOfRangeException(nameof(value), value, "an MQTT keep-alive is 1 to 65,535 seconds");
            Interlocked.Exchange(ref _periodMs, (long)value.TotalMilliseconds);
        }
    }

    /// <summary>The client sent a packet (a publish, a subscribe, a ping, or the PUBACK of a QoS 1 message it got).</summary>
    public void Sent(long nowMs)
    {
        long last = Interlocked.Read(ref _lastSentMs);
        while (nowMs > last)
        {
            long seen = Interlocked.CompareExchange(ref _lastSentMs, nowMs, last);
            if (seen == last) return;
            last = seen;
        }
    }

    /// <summary>How long until a ping is due; zero or less when it is due now.</summary>
    public TimeSpan UntilPing(long nowMs) =>
        TimeSpan.FromMilliseconds(Interlocked.Read(ref _lastSentMs) + Interlocked.Read(ref _periodMs) - nowMs);
}
