using IotOta.Shared.Protocol;
using MQTTnet;
using MQTTnet.Protocol;

namespace IotOta.Gateway.Mqtt;

/// <summary>
/// What a broker said about itself in its CONNACK (MQTT 5): the largest packet it takes (0 = no limit), the highest
/// QoS it grants, how many topic aliases it accepts, whether it keeps retained messages. The gateway checks them at
/// start against what a rollout needs (<see cref="Check"/>) instead of failing packet by packet later. Immutable.
/// </summary>
public sealed record BrokerLimits(uint MaximumPacketSize, MqttQualityOfServiceLevel MaximumQoS, ushort TopicAliasMaximum, bool RetainAvailable)
{
    /// <summary>Bytes an MQTT PUBLISH adds around its payload at most here: fixed header (5), topic length and the
    /// longest gateway topic (iotota/dev/4294967295/in: 24), packet id (2), property length (4).</summary>
    public const int PublishOverhead = 5 + 2 + 24 + 2 + 4;

    public static BrokerLimits From(MqttClientConnectResult r) =>
        new(r.MaximumPacketSize ?? 0, r.MaximumQoS, r.TopicAliasMaximum, r.RetainAvailable);

    /// <summary>The largest MQTT packet the gateway sends for one minimum-unit packet of <paramref name="chunkSize"/>
    /// bytes: an original naming the most relays, plus the PUBLISH around it.</summary>
    public static int PacketBytesFor(int chunkSize) => DataPacket.EncodedLength(DataPacket.MaxTargets, chunkSize) + PublishOverhead;

    /// <summary>Null when a broker with these limits can carry packets of <paramref name="requiredPacketBytes"/> at QoS 1;
    /// else why not, in words an operator can act on.</summary>
    public string? Check(int requiredPacketBytes)
    {
        if (MaximumQoS < MqttQualityOfServiceLevel.AtLeastOnce)
            return $"the broker grants QoS {(int)MaximumQoS} at most; IotOta needs QoS 1 (at least once) for packets and receipt notices";
        if (MaximumPacketSize != 0 && MaximumPacketSize < requiredPacketBytes)
            return $"the broker takes MQTT packets of at most {MaximumPacketSize} bytes; a packet of this chunk size needs {requiredPacketBytes} bytes: " +
                   "lower --chunk-size or raise the broker's maximum packet size";
        return null;
    }

    /// <summary>One line for logs and the console.</summary>
    public override string ToString() =>
        $"max packet {(MaximumPacketSize == 0 ? "unlimited" : MaximumPacketSize + " B")}, max QoS {(int)MaximumQoS}, topic aliases {TopicAliasMaximum}, retain {(RetainAvailable ? "yes" : "no")}";
}
