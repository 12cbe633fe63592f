using MQTTnet.Formatter;
using MQTTnet.Packets;
using MQTTnet.Protocol;

namespace IotOta.Gateway.Mqtt;

/// <summary>Bytes an MQTT packet takes on the wire, as MQTTnet's own encoder writes it for a protocol version (fixed
/// header, variable header, MQTT 5 properties, payload). Thread-safe (one encoder per version, used under a lock).</summary>
public static class MqttWireSize
{
    private static readonly object Gate = new();
    private static readonly Dictionary<MqttProtocolVersion, MqttPacketFormatterAdapter> Formatters = new();

    public static int Of(MqttPacket packet, MqttProtocolVersion version)
    {
        if (version == MqttProtocolVersion.Unknown) version = MqttProtocolVersion.V500;
        lock (Gate)
        {
            if (!Formatters.TryGetValue(version, out var f))
                Formatters[version] = f = new MqttPacketFormatterAdapter(version, new MqttBufferWriter(4096, 65536));
            try
            {
                return f.Encode(packet).Length;
            }
            finally
            {
                f.Cleanup();
            }
        }
    }

    /// <summary>A PUBLISH of this topic and payload length at this QoS, as a broker forwards it to a subscriber.</summary>
    public static int OfPublish(string topic, int payloadLength, MqttQualityOfServiceLevel qos, MqttProtocolVersion version = MqttProtocolVersion.V500)
    {
        var p = new MqttPublishPacket { Topic = topic, PayloadSegment = new ArraySegment<byte>(new byte[payloadLength]), QualityOfServiceLevel = qos, PacketIdentifier = (ushort)(qos == MqttQualityOfServiceLevel.AtMostOnce ? 0 : 1) };
        return Of(p, version);
    }
}
