using System;
using System.Threading;
using IotOta.Board.Loader;
using IotOta.Board.Network;
using IotOta.Board.Platform;
using IotOta.Board.Storage;
using IotOta.DeviceFirmware.Agent;
using IotOta.Shared.Protocol;
using nanoFramework.Networking;

namespace IotOta.Board
{
    /// <summary>
    /// The resident program: deployed once to the board's deployment region (nanoff / Visual Studio), it is what
    /// stock nanoFramework runs at boot. It acts as the bootloader of the application (DeviceAgent.Start reads the
    /// boot record: a new image goes on trial, an unconfirmed one is rolled back), loads the active slot's
    /// application bundle with Assembly.Load and starts it (the self-test), and runs the device core that receives,
    /// copies, verifies and installs the next bundle. Threads: main (MQTT reconnect + Tick), pump, peer server, and
    /// M2Mqtt's own.
    /// </summary>
    public static class Program
    {
        public static void Main()
        {
            Run(BoardSettings.DefaultRoot);
        }

        /// <summary>Runs the board with its file system at <paramref name="root"/> (never returns).</summary>
        public static void Run(string root)
        {
            ConsoleLog log = new ConsoleLog();
            BoardSettings s = BoardSettings.Load(root);
            log.Log("IotOta board " + s.NodeId + " (group " + s.GroupId + ") starting");
            if (s.WifiSsid != null && !WifiNetworkHelper.ConnectDhcp(s.WifiSsid, s.WifiPassword, requiresDateTime: false,
                    token: new CancellationTokenSource(60000).Token))
            {
                log.Log("no Wi-Fi; rebooting in 10 s");
                Thread.Sleep(10000);
                new RebootPort().RequestRestart();
            }
            uint ip = s.PeerIp != 0 ? s.PeerIp : DefaultAddress.Get();
            DeviceConfig config = new DeviceConfig();
            config.NodeId = s.NodeId;
            config.GroupId = s.GroupId;
            config.PeerIp = ip;
            config.PeerPort = s.PeerPort;
            config.MaxChunkSize = s.MaxChunkSize;
            config.MaxMembers = s.MaxMembers;
            // the socket budget the presence announces and the copy trees are cut to: in and out together
            config.MaxPeerConnections = s.MaxPeerConnections;
            config.ForwardQueueCapacity = s.ForwardQueueCapacity;
            config.TrialTimeoutMs = s.TrialTimeoutMs;
            if (s.TrustedKey == null) throw new ArgumentException(BoardSettings.FileName + ": key.hex (the gateway's manifest-signing public key) is not set");

            FileFlashLayout flash = new FileFlashLayout(s.StoreDirectory, s.SlotBytes, s.StateBytes, s.BootBytes);
            M2MqttPort mqtt = new M2MqttPort(s, ip);
            PeerSocketBudget sockets = new PeerSocketBudget(s.MaxPeerConnections);
            PeerClient peers = new PeerClient(sockets);
            RebootPort reboot = new RebootPort();
            // null sink: the slot files take writes at any offset (RandomOffsetSink); no staging needed
            DeviceAgent agent = new DeviceAgent(config, flash, mqtt, peers, new TickClock(), new NativeHashPort(),
                new ManagedSignatureVerifier(s.TrustedKeyId, s.TrustedKey), reboot, log, null, null);
            agent.Start();

            // The application: loaded before the first connect, so an image on trial is confirmed (on connect) only
            // after its bundle loaded and started.
            bool empty;
            string failure = new BundleLoader(log).LoadAndStart(flash.Slot(agent.ActiveSlot), out empty);
            if (failure != null)
            {
                log.Log("application not started: " + failure);
                if (agent.State == DeviceState.PendingConfirm)
                {
                    agent.SelfTestFailed(failure); // restarts; the boot logic brings the previous bundle back
                    Thread.Sleep(Timeout.Infinite);
                }
            }

            mqtt.Attach(agent);
            int maxFrame = DataPacket.EncodedLength(DataPacket.MaxTargets, s.MaxChunkSize) + 1024;
            PeerServer server = new PeerServer(s.PeerPort, sockets, maxFrame, agent.OnPeerMessage);
            server.Start();
            try { mqtt.Connect(); }
            catch (Exception e) { log.Log("MQTT connect failed (retrying): " + e.Message); }

            new Thread(() =>
            {
                while (true)
                {
                    if (!agent.PumpOnce()) Thread.Sleep(20);
                }
            }).Start();
            while (true)
            {
                mqtt.KeepConnected(); // reconnects; the agent re-subscribes and announces itself after each connect
                agent.Tick();
                Thread.Sleep(50);
            }
        }
    }
}
