using System.Collections.Concurrent;
using MQTTnet.Formatter;
using MQTTnet.Packets;
using MQTTnet.Server;

namespace IotOta.Gateway.Mqtt;

/// <summary>
/// Counts an embedded MQTTnet broker's traffic from its packet interceptors: every packet it receives from a client
/// and every packet it sends to one, sized by MQTTnet's encoder for the client's protocol version
/// (<see cref="MqttWireSize"/>), PUBLISHes sorted by protocol message (<see cref="BrokerTraffic.KindOf"/>), every
/// other packet (CONNECT/CONNACK, SUBSCRIBE/SUBACK, PUBACK, PING, DISCONNECT) as MQTT session traffic. TCP/IP headers
/// are not counted (nor does Mosquitto's $SYS/broker/bytes).
/// </summary>
public sealed class EmbeddedBrokerMeter
{
    private readonly ConcurrentDictionary<string, MqttProtocolVersion> _versions = new(StringComparer.Ordinal);

    public EmbeddedBrokerMeter(MqttServer server)
    {
        ArgumentNullException.ThrowIfNull(server);
        server.ClientConnectedAsync += e =>
        {
            _versions[e.ClientId] = e.ProtocolVersion;
            return Task.CompletedTask;
        };
        server.InterceptingInboundPacketAsync += e =>
        {
            Count(sent: false, e.ClientId, e.Packet);
            return Task.CompletedTask;
        };
        server.InterceptingOutboundPacketAsync += e =>
        {
            Count(sent: true, e.ClientId, e.Packet);
            return Task.CompletedTask;
        };
    }

    public BrokerTraffic Traffic { get; } = new("embedded MQTTnet broker: InterceptingInbound/OutboundPacketAsync, each packet sized by MQTTnet's encoder");

    public BrokerBytes Snapshot() => Traffic.Snapshot();

    private void Count(bool sent, string? clientId, MqttPacket packet)
    {
        MqttProtocolVersion v = packet is MqttConnectPacket
            ? MqttProtocolVersion.V500
            : clientId != null && _versions.TryGetValue(clientId, out var known) ? known : MqttProtocolVersion.V500;
        int size;
        try
        {
            size = MqttWireSize.Of(packet, v);
        }
        catch (Exception)
        {
            return; // a packet the encoder refuses never reaches the wire either
        }
        string kind = packet is MqttPublishPacket p ? BrokerTraffic.KindOf(p.Topic, System.Buffers.BuffersExtensions.ToArray(p.Payload.Slice(0, Math.Min(4L, p.Payload.Length))), p.Payload.Length) : BrokerTraffic.SessionKind;
        Traffic.Add(sent, kind, size);
    }
}
