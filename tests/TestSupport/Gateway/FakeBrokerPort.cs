using System.Collections.Concurrent;
using IotOta.Gateway.Node;

namespace IotOta.TestSupport.Gateway;

/// <summary>
/// The gateway core's broker port without a broker: records every publish, lets a test deliver inbound messages
/// (<see cref="Deliver"/>), drop and restore the link (<see cref="Drop"/>, <see cref="Restore"/>). While the link is
/// down a publish throws <see cref="BrokerLinkException"/>, as the MQTT adapter does.
/// </summary>
public sealed class FakeBrokerPort : IBrokerPort
{
    private Action<string, byte[]>? _onMessage;
    private volatile bool _connected;
    private int _disconnects;
    private long _bytes, _messages;

    /// <summary>Every publish that went out, in order.</summary>
    public ConcurrentQueue<(string Topic, byte[] Payload, bool Retain, BrokerQos Qos)> Published { get; } = new();

    /// <summary>Set: the port keeps what is published retained, as the MQTT adapter does (the gateway then answers
    /// devices that miss it, <see cref="IotOta.Gateway.Fleet.DeviceCatchUp"/>); null (the default): it does not.</summary>
    public IotOta.Gateway.Fleet.RetainedLedger? Retained { get; init; }
    IotOta.Gateway.Fleet.RetainedLedger? IBrokerPort.Retained => Retained;

    public bool IsConnected => _connected;
    public int Disconnects => Volatile.Read(ref _disconnects);
    public long BytesPublished => Interlocked.Read(ref _bytes);
    public long MessagesPublished => Interlocked.Read(ref _messages);
    public event Action<string>? Disconnected;
    public event Action? Reconnected;

    public Task ConnectAsync(Action<string, byte[]> onMessage, CancellationToken ct)
    {
        _onMessage = onMessage;
        _connected = true;
        return Task.CompletedTask;
    }

    public Task PublishAsync(string topic, byte[] payload, bool retain = false, BrokerQos qos = BrokerQos.AtLeastOnce, CancellationToken ct = default)
    {
        ct.ThrowIfCancellationRequested();
        if (!_connected) throw new BrokerLinkException($"publish to {topic}: the link is down");
        Published.Enqueue((topic, payload, retain, qos));
        if (retain) Retained?.Record(topic, payload);
        Interlocked.Add(ref _bytes, payload.Length);
        Interlocked.Increment(ref _messages);
        return Task.CompletedTask;
    }

    /// <summary>A message from the broker (a device's status or outbound topic).</summary>
    public void Deliver(string topic, byte[] payload) =>
        (_onMessage ?? throw new InvalidOperationException("not connected yet"))(topic, payload);

    public void Drop(string reason = "test")
    {
        _connected = false;
        Interlocked.Increment(ref _disconnects);
        Disconnected?.Invoke(reason);
    }

    public void Restore()
    {
        _connected = true;
        Reconnected?.Invoke();
    }

    /// <summary>The publishes to a topic so far.</summary>
    public IReadOnlyList<byte[]> To(string topic) => Published.Where(p => p.Topic == topic).Select(p => p.Payload).ToList();

    public ValueTask DisposeAsync()
    {
        _connected = false;
        return ValueTask.CompletedTask;
    }
}
