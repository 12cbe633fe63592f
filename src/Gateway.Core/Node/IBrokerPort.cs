namespace IotOta.Gateway.Node;

/// <summary>
/// The gateway's link to the MQTT broker, as the core sees it (the device reaches its broker through IMqttPort the same
/// way). The adapter (src/Gateway.Mqtt) subscribes to every device's status and outbound topics, hands each message to
/// the handler given at <see cref="ConnectAsync"/>, paces publishes through the gateway's upload limit and reconnects by
/// itself. A publish that fails because the link is down throws <see cref="BrokerLinkException"/>.
/// </summary>
public interface IBrokerPort : IAsyncDisposable
{
    bool IsConnected { get; }
    /// <summary>Times the link dropped since it was created.</summary>
    int Disconnects { get; }
    long BytesPublished { get; }
    long MessagesPublished { get; }
    /// <summary>The link dropped (the reason, never a secret).</summary>
    event Action<string>? Disconnected;
    /// <summary>The link came back after a drop (and its subscriptions with it).</summary>
    event Action? Reconnected;

    /// <summary>Connects, subscribes, and from then on hands every inbound message (topic, payload) to onMessage.</summary>
    Task ConnectAsync(Action<string, byte[]> onMessage, CancellationToken ct);

    Task PublishAsync(string topic, byte[] payload, bool retain = false, BrokerQos qos = BrokerQos.AtLeastOnce, CancellationToken ct = default);

    /// <summary>The last retained message published on each topic through this port, or null when the adapter does not
    /// keep them (then devices that miss retained messages get no direct answer: <see cref="Fleet.DeviceCatchUp"/>).</summary>
    Fleet.RetainedLedger? Retained => null;
}
