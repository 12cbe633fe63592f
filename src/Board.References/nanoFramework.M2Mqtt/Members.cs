// Reference stand-in for nanoFramework.M2Mqtt 5.1.218 (assembly nanoFramework.M2Mqtt), transcribed from
// github.com/nanoframework/nanoFramework.m2mqtt at tag v5.1.218, folder M2Mqtt/. Only the members the board program
// uses. Its nuspec at that tag depends on CoreLibrary 1.17.11, Runtime.Native 1.7.11, System.Collections 1.5.75,
// System.Net 1.11.54.
using System.Security.Cryptography.X509Certificates;
using nanoFramework.M2Mqtt.Messages;

[assembly: System.Reflection.AssemblyVersion("5.1.218.0")]

namespace nanoFramework.M2Mqtt
{
    // M2Mqtt/MqttClient.cs:37 (implements IMqttClient and IDisposable there; not needed by the board program)
    public class MqttClient
    {
        // M2Mqtt/MqttClient.cs:293
        public MqttClient(string brokerHostName, int brokerPort, bool secure, X509Certificate caCert, X509Certificate clientCert, MqttSslProtocols sslProtocol) { throw null; }

        // M2Mqtt/MqttClient.cs:133 — raised on the library's dispatch thread
        public event IMqttClient.MqttMsgPublishEventHandler MqttMsgPublishReceived { add { throw null; } remove { throw null; } }

        // M2Mqtt/MqttClient.cs:173
        public bool IsConnected { get { throw null; } }

        // M2Mqtt/MqttClient.cs:418 — builds MqttMsgConnect; the will message is a string that
        // M2Mqtt/Messages/MqttMsgConnect.cs:415 encodes with Encoding.UTF8.GetBytes (no byte[] overload)
        public MqttReasonCode Connect(string clientId, string username, string password, bool willRetain, MqttQoSLevel willQosLevel,
            bool willFlag, string willTopic, string willMessage, bool cleanSession, ushort keepAlivePeriod) { throw null; }

        // M2Mqtt/MqttClient.cs:643
        public ushort Subscribe(string[] topics, MqttQoSLevel[] qosLevels) { throw null; }

        // M2Mqtt/MqttClient.cs:753 — publishes the whole array
        public ushort Publish(string topic, byte[] message, string contentType, System.Collections.ArrayList userProperties,
            MqttQoSLevel qosLevel, bool retain) { throw null; }
    }
}
