using System;
using System.Buffers;
using System.Collections;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using nanoFramework.M2Mqtt.Messages;

namespace nanoFramework.M2Mqtt
{
    /// <summary>
    /// Emulates nanoFramework.M2Mqtt 5.1.218's MqttClient on MQTTnet, as far as the board program can tell: MQTT
    /// 3.1.1; Connect blocks and throws when the broker cannot be reached; the will message is a string encoded with
    /// UTF-8 (M2Mqtt/Messages/MqttMsgConnect.cs:415), so a will that is not text arrives changed exactly as on a
    /// board; no automatic reconnect (IsConnected turns false and stays so until Connect); each received message is a
    /// new byte array handed to MqttMsgPublishReceived on one dispatch thread, in order.
    /// </summary>
    public class MqttClient
    {
        private readonly string _host;
        private readonly int _port;
        private readonly MQTTnet.IMqttClient _client;
        private int _messageId;

        public MqttClient(string brokerHostName, int brokerPort, bool secure, X509Certificate caCert, X509Certificate clientCert, MqttSslProtocols sslProtocol)
        {
            if (secure) throw new NotSupportedException("the emulation speaks plain MQTT only");
            _host = brokerHostName;
            _port = brokerPort;
            _client = new MqttClientFactory().CreateMqttClient();
            _client.ApplicationMessageReceivedAsync += e =>
            {
                byte[] message = e.ApplicationMessage.Payload.ToArray();
                IMqttClient.MqttMsgPublishEventHandler h = MqttMsgPublishReceived;
                if (h != null) h(this, new MqttMsgPublishEventArgs(e.ApplicationMessage.Topic, message));
                return Task.CompletedTask;
            };
        }

        public event IMqttClient.MqttMsgPublishEventHandler MqttMsgPublishReceived;

        public bool IsConnected { get { return _client.IsConnected; } }

        public MqttReasonCode Connect(string clientId, string username, string password, bool willRetain, MqttQoSLevel willQosLevel,
            bool willFlag, string willTopic, string willMessage, bool cleanSession, ushort keepAlivePeriod)
        {
            MqttClientOptionsBuilder b = new MqttClientOptionsBuilder()
                .WithTcpServer(_host, _port)
                .WithProtocolVersion(MqttProtocolVersion.V311)
                .WithClientId(clientId)
                .WithCleanSession(cleanSession)
                .WithTimeout(TimeSpan.FromSeconds(5))
                .WithKeepAlivePeriod(TimeSpan.FromSeconds(keepAlivePeriod));
            if (willFlag && willTopic != null && willMessage != null)
            {
                b = b.WithWillTopic(willTopic)
                    .WithWillPayload(Encoding.UTF8.GetBytes(willMessage)) // what MqttMsgConnect.GetBytes does
                    .WithWillRetain(willRetain)
                    .WithWillQualityOfServiceLevel((MqttQualityOfServiceLevel)(int)willQosLevel);
            }
            if (!string.IsNullOrEmpty(username)) b = b.WithCredentials(username, password ?? "");
            MqttClientConnectResult r = _client.ConnectAsync(b.Build(), CancellationToken.None).GetAwaiter().GetResult();
            if (r.ResultCode != MqttClientConnectResultCode.Success)
                throw new InvalidOperationException("broker refused the connection: " + r.ResultCode);
            return MqttReasonCode.Success;
        }

        public void Disconnect()
        {
            _client.DisconnectAsync(new MqttClientDisconnectOptions()).GetAwaiter().GetResult();
        }

        public ushort Subscribe(string[] topics, MqttQoSLevel[] qosLevels)
        {
            MqttClientSubscribeOptionsBuilder b = new MqttClientSubscribeOptionsBuilder();
            for (int i = 0; i < topics.Length; i++) b = b.WithTopicFilter(topics[i], (MqttQualityOfServiceLevel)(int)qosLevels[i]);
            _client.SubscribeAsync(b.Build(), CancellationToken.None).GetAwaiter().GetResult();
            return NextId();
        }

        public ushort Publish(string topic, byte[] message, string contentType, ArrayList userProperties, MqttQoSLevel qosLevel, bool retain)
        {
            if (!_client.IsConnected) throw new InvalidOperationException("not connected");
            MqttApplicationMessage m = new MqttApplicationMessageBuilder()
                .WithTopic(topic)
                .WithPayload(message)
                .WithQualityOfServiceLevel((MqttQualityOfServiceLevel)(int)qosLevel)
                .WithRetainFlag(retain)
                .Build();
            _client.PublishAsync(m, CancellationToken.None).GetAwaiter().GetResult();
            return NextId();
        }

        private ushort NextId()
        {
            int id = Interlocked.Increment(ref _messageId) & 0xFFFF;
            return (ushort)(id == 0 ? 1 : id);
        }
    }
}
