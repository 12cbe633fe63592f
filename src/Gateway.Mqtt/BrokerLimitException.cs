namespace IotOta.Gateway.Mqtt;

/// <summary>The broker's limits (maximum packet size, QoS) are too small for what the gateway must send; the message
/// says which and what to change. Thrown at connect, before anything is published.</summary>
public sealed class BrokerLimitException(string message) : InvalidOperationException(message);
