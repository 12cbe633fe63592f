using MQTTnet;

namespace IotOta.Gateway.Mqtt;

/// <summary>A <see cref="GatewayNode"/> on an MQTTnet client (<see cref="GatewayMqttClient"/>).</summary>
public static class MqttGatewayNode
{
    /// <param name="pace">the gateway's upload limit: waits until so many bytes may leave (null = unlimited)</param>
    /// <param name="configure">more client options (TLS)</param>
    /// <param name="store">where devices and held packets are written (null = memory only)</param>
    /// <param name="requiredPacketBytes">the largest packet the broker must carry (<see cref="BrokerLimits.PacketBytesFor"/>
    /// of the chunk size): checked at start (0 = no check)</param>
    public static GatewayNode Create(string host, int port, TimeProvider? time = null, Func<int, CancellationToken, Task>? pace = null,
        Action<string>? log = null, string clientId = "iotota-gateway", string? user = null, string? password = null,
        Func<MqttClientOptionsBuilder, MqttClientOptionsBuilder>? configure = null, Node.INodeStore? store = null, int requiredPacketBytes = 0) =>
        new(new GatewayMqttClient(host, port, clientId, pace, user, password, configure) { RequiredPacketBytes = requiredPacketBytes }, time, log, store);

    /// <summary>A gateway on the broker (or cluster) <paramref name="broker"/> describes: its endpoints in failover order,
    /// credentials and TLS (IotOta:Mqtt).</summary>
    public static GatewayNode Create(MqttBrokerSettings broker, TimeProvider? time = null, Func<int, CancellationToken, Task>? pace = null,
        Action<string>? log = null, Node.INodeStore? store = null, int requiredPacketBytes = 0) =>
        new(new GatewayMqttClient(broker.Endpoints, broker.GatewayClientId, pace, broker.Username, broker.Password, broker.Tls == null ? null : broker.Tls.Apply)
        {
            RequiredPacketBytes = requiredPacketBytes,
        }, time, log, store);
}
