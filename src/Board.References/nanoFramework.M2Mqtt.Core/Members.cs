// Reference stand-in for nanoFramework.M2Mqtt.Core 5.1.218 (assembly nanoFramework.M2Mqtt.Core), transcribed from
// github.com/nanoframework/nanoFramework.m2mqtt at tag v5.1.218, folder nanoFramework.M2Mqtt.Core/. Only the members
// the board program uses.
[assembly: System.Reflection.AssemblyVersion("5.1.218.0")]

namespace nanoFramework.M2Mqtt
{
    // nanoFramework.M2Mqtt.Core/MqttSslProtocols.cs:16
    public enum MqttSslProtocols
    {
        None,
        SSLv3,
        TLSv1_0,
        TLSv1_1,
        TLSv1_2,
        TLSv1_3,
    }

    // nanoFramework.M2Mqtt.Core/IMqttClient.cs:17 — only its nested delegate, the type of MqttClient's event
    public interface IMqttClient
    {
        // nanoFramework.M2Mqtt.Core/IMqttClient.cs:132
        public delegate void MqttMsgPublishEventHandler(object sender, nanoFramework.M2Mqtt.Messages.MqttMsgPublishEventArgs e);
    }
}

namespace nanoFramework.M2Mqtt.Messages
{
    // nanoFramework.M2Mqtt.Core/Messages/MqttQoSLevel.cs:6
    public enum MqttQoSLevel
    {
        AtMostOnce = 0x00,
        AtLeastOnce = 0x01,
        ExactlyOnce = 0x02,
        GrantedFailure = 0x80,
    }

    // nanoFramework.M2Mqtt.Core/Messages/MqttReasonCode.cs:12 (only the value the board checks)
    public enum MqttReasonCode
    {
        Success = 0x00,
    }

    // nanoFramework.M2Mqtt.Core/Messages/MqttMsgPublishEventArgs.cs:25
    public class MqttMsgPublishEventArgs : System.EventArgs
    {
        private MqttMsgPublishEventArgs() { }
        // nanoFramework.M2Mqtt.Core/Messages/MqttMsgPublishEventArgs.cs:30
        public string Topic { get { throw null; } }
        // nanoFramework.M2Mqtt.Core/Messages/MqttMsgPublishEventArgs.cs:35
        public byte[] Message { get { throw null; } }
    }
}
