namespace IotOta.DeviceFirmware.Ports
{
    /// <summary>The first network. The adapter connects (with the device's last will), re-subscribes after a reconnect,
    /// and hands every received message to DeviceAgent.OnMqttMessage.</summary>
    public interface IMqttPort
    {
        bool IsConnected { get; }
        /// <summary>Publishes a copy of buffer[offset..offset+count); QoS 1. Returns false when not connected.</summary>
        bool Publish(string topic, byte[] buffer, int offset, int count, bool retain);
        /// <summary>Publishes a copy at QoS 0 (at most once, not retained): the broker sends no PUBACK for it and, to a
        /// subscriber at QoS 1, no packet id. For the receipt-notice batches, whose loss the gateway handles anyway (a
        /// delivery with no notice is planned again at its deadline): 6 of a batch's ~55 bytes at the broker. Returns
        /// false when not connected.</summary>
        bool PublishAtMostOnce(string topic, byte[] buffer, int offset, int count);
        void Subscribe(string topic);
        /// <summary>True when the broker holds this subscription from before the core (re)started — a session that
        /// outlived its restart —, so subscribing again would only bring the topic's retained message back.</summary>
        bool Subscribed(string topic);
    }
}
