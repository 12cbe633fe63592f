using System;
using IotOta.DeviceFirmware.Agent;
using IotOta.DeviceFirmware.Ports;
using IotOta.Shared.Protocol;
using nanoFramework.M2Mqtt;
using nanoFramework.M2Mqtt.Messages;

namespace IotOta.Board.Network
{
    /// <summary>
    /// IMqttPort over nanoFramework.M2Mqtt 5.1.218 (MqttClient, MQTT 3.1.1, QoS 1). The last will is the device's
    /// offline presence in its text form (<see cref="ArmoredMessage"/>): M2Mqtt takes the will as a string and
    /// encodes it as UTF-8, which would change every byte &gt;= 0x80 of the binary form.
    /// </summary>
    public sealed class M2MqttPort : IMqttPort
    {
        private readonly MqttClient _client;
        private readonly string _clientId;
        private readonly string _user;
        private readonly string _password;
        private readonly string _willTopic;
        private readonly uint _nodeId;
        private readonly int _groupId;
        private readonly uint _ip;
        private readonly int _peerPort;
        private readonly object _gate = new object();
        private readonly string[] _topics = new string[1];
        private readonly MqttQoSLevel[] _qos = new MqttQoSLevel[] { MqttQoSLevel.AtLeastOnce };
        private DeviceAgent _agent;

        public M2MqttPort(BoardSettings s, uint ip)
        {
            _client = new MqttClient(s.BrokerHost, s.BrokerPort, false, null, null, MqttSslProtocols.None);
            _client.MqttMsgPublishReceived += OnMessage;
            _clientId = "dev-" + s.NodeId;
            _user = s.MqttUser;
            _password = s.MqttPassword;
            _willTopic = Topics.DeviceStatus(s.NodeId);
            _nodeId = s.NodeId;
            _groupId = s.GroupId;
            _ip = ip;
            _peerPort = s.PeerPort;
        }

        /// <summary>The offline presence as the will string: ASCII only, so UTF-8 leaves it byte for byte.</summary>
        public static string WillText(uint nodeId, int groupId, uint ip, int peerPort, FirmwareVersion running)
        {
            Presence p = new Presence();
            p.NodeId = nodeId;
            p.GroupId = groupId;
            p.Online = false;
            p.Ip = ip;
            p.Port = peerPort;
            p.RunningVersion = running == null ? FirmwareVersion.Zero : running;
            byte[] b = new byte[Presence.EncodedLength];
            int n = p.Encode(b, 0);
            return ArmoredMessage.ToText(b, 0, n);
        }

        public void Attach(DeviceAgent agent) { _agent = agent; }

        public bool IsConnected { get { return _client.IsConnected; } }

        /// <summary>Connects (clean session, retained will) and lets the agent subscribe and announce itself.
        /// Returns false when the broker cannot be reached or refuses.</summary>
        public bool Connect()
        {
            lock (_gate)
            {
                if (_client.IsConnected) return true;
                DeviceAgent agent = _agent;
                // the will names the version running now (it is set at each connect)
                string will = WillText(_nodeId, _groupId, _ip, _peerPort, agent == null ? null : agent.RunningVersion);
                MqttReasonCode code = _client.Connect(_clientId, _user, _password, true, MqttQoSLevel.AtLeastOnce, true,
                    _willTopic, will, true, 30);
                if (code != MqttReasonCode.Success || !_client.IsConnected) return false;
            }
            DeviceAgent a = _agent;
            if (a != null) a.OnConnected();
            return true;
        }

        /// <summary>Reconnects after a loss (called from the main loop); a failure is retried on the next call.</summary>
        public void KeepConnected()
        {
            if (_client.IsConnected) return;
            try { Connect(); }
            catch (Exception) { }
        }

        public bool Publish(string topic, byte[] buffer, int offset, int count, bool retain)
        {
            return Send(topic, buffer, offset, count, MqttQoSLevel.AtLeastOnce, retain);
        }

        public bool PublishAtMostOnce(string topic, byte[] buffer, int offset, int count)
        {
            return Send(topic, buffer, offset, count, MqttQoSLevel.AtMostOnce, false);
        }

        private bool Send(string topic, byte[] buffer, int offset, int count, MqttQoSLevel qos, bool retain)
        {
            if (!_client.IsConnected) return false;
            // MqttClient.Publish sends a whole array: one copy per publish (notices, progress; not per received packet)
            byte[] copy = new byte[count];
            Array.Copy(buffer, offset, copy, 0, count);
            try
            {
                _client.Publish(topic, copy, null, null, qos, retain);
                return true;
            }
            catch (Exception)
            {
                return false;
            }
        }

        public void Subscribe(string topic)
        {
            lock (_gate)
            {
                _topics[0] = topic;
                _client.Subscribe(_topics, _qos);
            }
        }

        /// <summary>Always false: the board connects with a clean session (a restart is a reset, and the M2Mqtt API
        /// transcribed in src/Board.References has no session-present flag to tell a kept session), so after every
        /// connect the core subscribes again and the broker sends the retained messages again.</summary>
        public bool Subscribed(string topic)
        {
            return false;
        }

        private void OnMessage(object sender, MqttMsgPublishEventArgs e)
        {
            DeviceAgent a = _agent;
            byte[] m = e.Message;
            if (a != null && m != null) a.OnMqttMessage(e.Topic, m, 0, m.Length);
        }
    }
}
