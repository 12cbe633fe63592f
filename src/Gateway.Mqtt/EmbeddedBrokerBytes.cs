using System.Collections.Concurrent;
using MQTTnet.Formatter;
using MQTTnet.Packets;
using MQTTnet.Server;

namespace IotOta.Gateway.Mqtt;

/// <summary>
/// What an embedded MQTTnet broker sends to its clients and receives from them (the first network's cost, control
/// included), counted in its packet interceptors: every packet sized by MQTTnet's own encoder for the client's
/// protocol version (<see cref="MqttWireSize"/>). TCP/IP headers are not counted (nor does Mosquitto's
/// $SYS/broker/bytes). Thread-safe.
/// </summary>
public sealed class EmbeddedBrokerBytes
{
    private readonly ConcurrentDictionary<string, MqttProtocolVersion> _versions = new(StringComparer.Ordinal);
    private long _sent, _received;

    public EmbeddedBrokerBytes(MqttServer server)
    {
        ArgumentNullException.ThrowIfNull(server);
        server.ClientConnectedAsync += e =>
        {
            _versions[e.ClientId] = e.ProtocolVersion;
            return Task.CompletedTask;
        };
        server.InterceptingInboundPacketAsync += e =>
        {
            Interlocked.Add(ref _received, SizeOf(e.ClientId, e.Packet));
            return Task.CompletedTask;
        };
        server.InterceptingOutboundPacketAsync += e =>
        {
            Interlocked.Add(ref _sent, SizeOf(e.ClientId, e.Packet));
            return Task.CompletedTask;
        };
    }

    /// <summary>Bytes the broker sent to clients since it started.</summary>
    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>Bytes the broker received from clients since it started.</summary>
    public long Received => Interlocked.Read(ref _received);

    private int SizeOf(string? clientId, MqttPacket packet)
    {
        MqttProtocolVersion v = packet is MqttConnectPacket
            ? MqttProtocolVersion.V500
            : clientId != null && _versions.TryGetValue(clientId, out var known) ? known : MqttProtocolVersion.V500;
        try
        {
            return MqttWireSize.Of(packet, v);
        }
        catch (Exception)
        {
            return 0; // a packet the encoder refuses never reaches the wire either
        }
    }
}
