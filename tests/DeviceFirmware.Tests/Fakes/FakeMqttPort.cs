using IotOta.DeviceFirmware.Ports;

namespace IotOta.DeviceFirmware.Tests.Fakes;

/// <summary>Records every publish (topic, a copy of the bytes, retain) and every subscription. With
/// <see cref="CountOnly"/> it only counts publishes (no allocation), for the allocation test.</summary>
public sealed class FakeMqttPort : IMqttPort
{
    public sealed record Message(string Topic, byte[] Bytes, bool Retain, bool AtMostOnce = false);

    private readonly object _lock = new();
    private readonly List<Message> _published = new();
    private readonly List<string> _subscriptions = new();

    public bool IsConnected { get; set; } = true;
    public bool CountOnly { get; set; }
    /// <summary>Publishes that fail (return false, as one whose acknowledgement timed out) before they succeed again.</summary>
    public int FailPublishes;
    public int PublishCount;

    public IReadOnlyList<Message> Published { get { lock (_lock) return _published.ToArray(); } }
    public IReadOnlyList<string> Subscriptions { get { lock (_lock) return _subscriptions.ToArray(); } }

    public bool Publish(string topic, byte[] buffer, int offset, int count, bool retain) => Record(topic, buffer, offset, count, retain, false);

    public bool PublishAtMostOnce(string topic, byte[] buffer, int offset, int count) => Record(topic, buffer, offset, count, false, true);

    private bool Record(string topic, byte[] buffer, int offset, int count, bool retain, bool atMostOnce)
    {
        if (!IsConnected) return false;
        if (FailPublishes > 0)
        {
            FailPublishes--;
            return false;
        }
        Interlocked.Increment(ref PublishCount);
        if (CountOnly) return true;
        var copy = new byte[count];
        Array.Copy(buffer, offset, copy, 0, count);
        lock (_lock) _published.Add(new Message(topic, copy, retain, atMostOnce));
        return true;
    }

    public void Subscribe(string topic)
    {
        lock (_lock) _subscriptions.Add(topic);
    }

    /// <summary>What <see cref="Subscribed"/> answers: the broker kept the subscriptions (a session that outlived a restart).</summary>
    public bool SessionKept { get; set; }

    public bool Subscribed(string topic)
    {
        lock (_lock) return SessionKept && _subscriptions.Contains(topic);
    }

    public void Clear()
    {
        lock (_lock) _published.Clear();
    }
}
