using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Mqtt;

/// <summary>
/// What crossed the first network, counted at the broker: bytes it sent to its clients and received from them, with
/// the data packets (originals and gateway repair copies, protocol types 2 and 3) apart from everything else
/// (control: manifests/roots, member lists, tables, notices, reports, presence, and MQTT's own CONNECT, SUBSCRIBE,
/// PUBACK, PING…). <see cref="Source"/> names how it was counted. Thread-safe while counting; a snapshot is an
/// immutable <see cref="BrokerBytes"/>.
/// </summary>
public sealed class BrokerTraffic
{
    private readonly object _gate = new();
    private readonly Dictionary<string, long> _sentByKind = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _receivedByKind = new(StringComparer.Ordinal);
    private long _sent, _received, _dataSent, _dataReceived;

    public BrokerTraffic(string source) { Source = source; }

    public string Source { get; }

    /// <summary>Counts one MQTT packet of <paramref name="wireBytes"/> bytes; <paramref name="kind"/> from
    /// <see cref="KindOf"/>.</summary>
    public void Add(bool sent, string kind, long wireBytes)
    {
        bool data = kind == DataKind;
        lock (_gate)
        {
            var byKind = sent ? _sentByKind : _receivedByKind;
            byKind[kind] = byKind.GetValueOrDefault(kind) + wireBytes;
            if (sent) { _sent += wireBytes; if (data) _dataSent += wireBytes; }
            else { _received += wireBytes; if (data) _dataReceived += wireBytes; }
        }
    }

    public const string DataKind = "data";
    public const string SessionKind = "mqtt-session";

    /// <summary>The category of a PUBLISH: <see cref="DataKind"/> for originals and copies, else the protocol message
    /// type's name (an empty payload, e.g. clearing a retained topic, is "clear"; anything not ours "other").</summary>
    public static string KindOf(string topic, byte[] head, long payloadLength)
    {
        if (payloadLength == 0) return "clear";
        if (topic.StartsWith("$SYS", StringComparison.Ordinal)) return "sys";
        MessageType t = WireHeader.Peek(head, 0, head.Length);
        return t switch
        {
            0 => "other",
            MessageType.Original or MessageType.Copy => DataKind,
            _ => t.ToString(),
        };
    }

    public BrokerBytes Snapshot()
    {
        lock (_gate)
        {
            return new BrokerBytes(Source, _sent, _received, _dataSent, _dataReceived,
                new SortedDictionary<string, long>(_sentByKind, StringComparer.Ordinal),
                new SortedDictionary<string, long>(_receivedByKind, StringComparer.Ordinal));
        }
    }
}

/// <summary>Broker bytes over a window (see <see cref="BrokerTraffic"/>): sent to clients, received from them, data
/// apart from control; per-kind figures where the counting source can tell them apart (empty otherwise).</summary>
public sealed record BrokerBytes(string Source, long Sent, long Received, long DataSent, long DataReceived,
    IReadOnlyDictionary<string, long> SentByKind, IReadOnlyDictionary<string, long> ReceivedByKind)
{
    public long ControlSent => Sent - DataSent;
    public long ControlReceived => Received - DataReceived;

    /// <summary>This window minus an earlier snapshot of the same counters.</summary>
    public BrokerBytes Since(BrokerBytes before) => new(Source, Sent - before.Sent, Received - before.Received,
        DataSent - before.DataSent, DataReceived - before.DataReceived, Minus(SentByKind, before.SentByKind), Minus(ReceivedByKind, before.ReceivedByKind));

    private static SortedDictionary<string, long> Minus(IReadOnlyDictionary<string, long> a, IReadOnlyDictionary<string, long> b)
    {
        var r = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var (k, v) in a)
        {
            long d = v - b.GetValueOrDefault(k);
            if (d != 0) r[k] = d;
        }
        return r;
    }

    /// <summary>The issue #15 goal: broker bytes sent ≤ 1.05 × image + 200 bytes per device.</summary>
    public static long Goal(long imageBytes, int devices) => (long)Math.Floor(1.05 * imageBytes) + 200L * devices;
}
