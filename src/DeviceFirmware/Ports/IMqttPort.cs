namespace IotOta.DeviceFirmware.Ports
{
    /// <summary>The first network. The adapter connects (with the device's last will), re-subscribes after a reconnect,
    /// and hands every received message to DeviceAgent.OnMqttMessage.</summary>
    public interface IMqttPort
    {
        bool IsConnected { get; }
        /// <summary>Publishes a copy of buffer[offset..offset+count); QoS 1. Returns false when not connected.</summary>
        bool Publish(string topic, byte[] buffer, int offset, int count, bool retain);
        void Subscribe(string topic);
        /// <summary>True when the broker holds this subscription from before the core (re)started — a session that
        /// outlived its restart —, so subscribing again would only bring the topic's retained message back.</summary>
        bool Subscribed(string topic);
    }
}
