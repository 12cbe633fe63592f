namespace IotOta.Gateway.Node;

/// <summary>A publish failed because the broker link is down (a broker restart; what was not sent is planned again).</summary>
public sealed class BrokerLinkException(string message, Exception? inner = null) : Exception(message, inner);
