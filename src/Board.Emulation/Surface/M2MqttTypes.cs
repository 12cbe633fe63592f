namespace nanoFramework.M2Mqtt
{
    /// <summary>Emulates nanoFramework.M2Mqtt.Core 5.1.218 MqttSslProtocols.</summary>
    public enum MqttSslProtocols
    {
        None,
        SSLv3,
        TLSv1_0,
        TLSv1_1,
        TLSv1_2,
        TLSv1_3,
    }

    /// <summary>Emulates nanoFramework.M2Mqtt.Core 5.1.218 IMqttClient (its event delegate).</summary>
    public interface IMqttClient
    {
        public delegate void MqttMsgPublishEventHandler(object sender, nanoFramework.M2Mqtt.Messages.MqttMsgPublishEventArgs e);
    }
}

namespace nanoFramework.M2Mqtt.Messages
{
    /// <summary>Emulates nanoFramework.M2Mqtt.Core 5.1.218 MqttQoSLevel.</summary>
    public enum MqttQoSLevel
    {
        AtMostOnce = 0x00,
        AtLeastOnce = 0x01,
        ExactlyOnce = 0x02,
        GrantedFailure = 0x80,
    }

    /// <summary>Emulates nanoFramework.M2Mqtt.Core 5.1.218 MqttReasonCode (the values the emulation returns).</summary>
    public enum MqttReasonCode
    {
        Success = 0x00,
        UnspecifiedError = 0x80,
        BadUserNameOrPassword = 0x86,
        NotAuthorized = 0x87,
    }

    /// <summary>Emulates nanoFramework.M2Mqtt.Core 5.1.218 MqttMsgPublishEventArgs: a new array per message.</summary>
    public class MqttMsgPublishEventArgs : System.EventArgs
    {
        public MqttMsgPublishEventArgs(string topic, byte[] message)
        {
            Topic = topic;
            Message = message;
        }

        public string Topic { get; private set; }
        public byte[] Message { get; private set; }
    }
}
