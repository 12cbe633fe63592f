using MQTTnet;

namespace IotOta.Gateway.Mqtt;

/// <summary>A <see cref="GatewayNode"/> on an MQTTnet client (<see cref="GatewayMqttClient"/>).</summary>
public static class MqttGatewayNode
{
    /// <param name="pace">the gateway's upload limit: waits until so many bytes may leave (null = unlimited)</param>
    /// <param name="configure">more client options (TLS)</param>
    /// <param name="store">where devices and held packets are written (null = memory only)</param>
    public static GatewayNode Create(string host, int port, TimeProvider? time = null, Func<int, CancellationToken, Task>? pace = null,
        Action<string>? log = null, string clientId = "iotota-gateway", string? user = null, string? password = null,
        Func<MqttClientOptionsBuilder, MqttClientOptionsBuilder>? configure = null, Node.INodeStore? store = null) =>
        new(new GatewayMqttClient(host, port, clientId, pace, user, password, configure), time, log, store);
}
