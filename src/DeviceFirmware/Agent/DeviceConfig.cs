using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Agent
{
    /// <summary>What a device knows about itself before it talks to anyone.</summary>
    public sealed class DeviceConfig
    {
        public uint NodeId;
        public int GroupId;
        /// <summary>Where peers reach this device's socket (little-endian IPv4 as a uint) and port.</summary>
        public uint PeerIp;
        public int PeerPort;
        /// <summary>The version in slot A when the flash is new.</summary>
        public FirmwareVersion FactoryVersion = new FirmwareVersion(1, 0, 0);
        /// <summary>Largest chunk this device accepts (its buffers are sized for it once).</summary>
        public int MaxChunkSize = 4096;
        /// <summary>No new packet for this long while receiving: start repairing.</summary>
        public int RepairIdleMs = 1500;
        /// <summary>While repairing and replies stop for this long: ask the next source.</summary>
        public int RepairRoundMs = 300;
        public int MaxRepairReplies = 64;
        public int ProgressIntervalMs = 1000;
        public int ForwardQueueCapacity = 64;
        public int MaxMembers = 256;
        /// <summary>Most peer connections (inbound and outbound together) the device holds at once: its socket budget
        /// for the second network (lwIP's table, less MQTT and the listener). A board's profile sets it; 0 = unlimited.</summary>
        public int MaxPeerConnections = 6;
        /// <summary>An image on trial that is not confirmed (self-test: connected and reported its version) within
        /// this long after boot is abandoned: the device restarts and the previous image comes back.</summary>
        public int TrialTimeoutMs = 120000;
        /// <summary>Bad packets (chunk hash or length wrong) from one peer sender or connection before it is
        /// quarantined: no more packets are accepted from it and it is never asked for repairs.</summary>
        public int QuarantineStrikes = 3;
    }
}
