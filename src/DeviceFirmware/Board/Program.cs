// nanoFramework-only (not built here): the board entry point. Thin: it wires ports to the device core and runs
// the core's three loops (receive is driven by the MQTT and socket threads).
using System.Threading;
using IotOta.DeviceFirmware.Agent;
using IotOta.Shared.Protocol;
using nanoFramework.Networking;

namespace IotOta.DeviceFirmware.Board
{
    public static class Program
    {
        public static void Main()
        {
            Debug("IotOta device " + BoardConfig.NodeId + " starting");
            if (!WifiNetworkHelper.ConnectDhcp(BoardConfig.WifiSsid, BoardConfig.WifiPassword, requiresDateTime: true,
                token: new CancellationTokenSource(60000).Token))
            {
                Debug("no Wi-Fi; rebooting in 10 s");
                Thread.Sleep(10000);
                new RebootPort().RequestRestart();
            }
            uint ip = SocketPeerPort.LocalIp();
            var config = new DeviceConfig
            {
                NodeId = BoardConfig.NodeId,
                GroupId = BoardConfig.GroupId,
                PeerIp = ip,
                PeerPort = BoardConfig.PeerPort,
                MaxChunkSize = BoardConfig.MaxChunkSize,
                MaxMembers = 64,            // heap: the fan-out tables are sized for this once
                ForwardQueueCapacity = 16,
            };
            var flash = new BoardFlashLayout();
            var mqtt = new M2MqttPort(BoardConfig.BrokerHost, BoardConfig.BrokerPort, config.NodeId, config.GroupId, ip, config.PeerPort);
            var peer = new SocketPeerPort(config.PeerPort, config.MaxChunkSize);
            var sink = new InFieldUpdateSink();
            var agent = new DeviceAgent(config, flash, mqtt, peer, new BoardClock(), new NativeHashPort(),
                new ManagedSignatureVerifier(BoardConfig.TrustedKeyId, BoardConfig.TrustedKey), new RebootPort(), new SerialLog(),
                sink, flash.Staging);
            agent.Start();
            mqtt.Attach(agent);
            peer.Attach(agent);
            peer.Listen();
            mqtt.Connect();

            new Thread(() =>
            {
                while (true)
                {
                    if (!agent.PumpOnce()) Thread.Sleep(20);
                }
            }).Start();
            while (true)
            {
                mqtt.KeepConnected(); // reconnects; calls agent.OnConnected() after every (re)connect
                agent.Tick();
                Thread.Sleep(50);
            }
        }

        private static void Debug(string s)
        {
            System.Diagnostics.Debug.WriteLine(s);
        }
    }

    internal sealed class BoardClock : IotOta.DeviceFirmware.Ports.IClock
    {
        public long NowMs { get { return System.DateTime.UtcNow.Ticks / System.TimeSpan.TicksPerMillisecond; } }
    }

    internal sealed class SerialLog : IotOta.DeviceFirmware.Ports.ILogPort
    {
        public void Log(string message)
        {
            System.Diagnostics.Debug.WriteLine(message);
        }
    }
}
