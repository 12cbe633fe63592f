// nanoFramework-only (not built here): IMqttPort over nanoFramework.M2Mqtt.
using System;
using IotOta.DeviceFirmware.Agent;
using IotOta.DeviceFirmware.Ports;
using IotOta.Shared.Protocol;
using nanoFramework.M2Mqtt;
using nanoFramework.M2Mqtt.Messages;

namespace IotOta.DeviceFirmware.Board
{
    internal sealed class M2MqttPort : IMqttPort
    {
        private readonly MqttClient _client;
        private readonly string _clientId;
        private readonly string _willTopic;
        private readonly string _will;
        private DeviceAgent _agent;
        private readonly string[] _topics = new string[1];
        private readonly MqttQoSLevel[] _qos = new[] { MqttQoSLevel.AtLeastOnce };

        public M2MqttPort(string host, int port, uint nodeId, int groupId, uint ip, int peerPort)
        {
            _client = new MqttClient(host, port, false, null, null, MqttSslProtocols.None);
            _client.MqttMsgPublishReceived += OnMessage;
            _clientId = "dev-" + nodeId;
            _willTopic = Topics.DeviceStatus(nodeId);
            // The last will is the encoded offline Presence; M2Mqtt takes it as a string, so it is sent as Latin-1
            // characters (one byte each). VERIFY on a board that the library writes them back byte for byte.
            var p = new Presence();
            p.NodeId = nodeId; p.GroupId = groupId; p.Online = false; p.Ip = ip; p.Port = peerPort;
            byte[] b = new byte[Presence.EncodedLength];
            int n = p.Encode(b, 0);
            char[] c = new char[n];
            for (int i = 0; i < n; i++) c[i] = (char)b[i];
            _will = new string(c);
        }

        public void Attach(DeviceAgent agent) { _agent = agent; }

        public bool IsConnected { get { return _client.IsConnected; } }

        public void Connect()
        {
            _client.Connect(_clientId, BoardConfig.MqttUser, BoardConfig.MqttPassword, true, MqttQoSLevel.AtLeastOnce, true,
                _willTopic, _will, true, 30);
            if (_client.IsConnected && _agent != null) _agent.OnConnected();
        }

        public void KeepConnected()
        {
            if (_client.IsConnected) return;
            try { Connect(); } catch (Exception) { }
        }

        public bool Publish(string topic, byte[] buffer, int offset, int count, bool retain)
        {
            if (!_client.IsConnected) return false;
            byte[] copy = buffer;
            if (offset != 0 || count != buffer.Length)
            {
                copy = new byte[count]; // M2Mqtt publishes whole arrays: one copy per publish (notices, progress)
                Array.Copy(buffer, offset, copy, 0, count);
            }
            _client.Publish(topic, copy, null, null, MqttQoSLevel.AtLeastOnce, retain);
            return true;
        }

        public void Subscribe(string topic)
        {
            _topics[0] = topic;
            _client.Subscribe(_topics, _qos);
        }

        private void OnMessage(object sender, MqttMsgPublishEventArgs e)
        {
            DeviceAgent a = _agent;
            if (a != null) a.OnMqttMessage(e.Topic, e.Message, 0, e.Message.Length);
        }
    }
}
