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
        /// <summary>How long a receipt notice may wait at least for others to share a NoticeBatch with (issue #15: 8 B
        /// per notice on the first network plus ~45 B per batch, instead of ~60 per notice); 0 sends each batch as soon
        /// as the forwarding work runs dry (and turns the adaptive hold off). The hold adapts to how far apart this
        /// device's notices come: twice their smoothed gap, between NoticeHoldMs and NoticeHoldMaxMs. Measured at
        /// N = 30 (3 groups, 1 MiB): with 1 Mbit/s device uplinks minimum units come ~200 ms apart, so a fixed 40 ms
        /// hold sent one notice per batch (40 KB of notices at the broker) and 300 ms halved that at the same time to
        /// the bound, but on unlimited links a fixed 300 ms held back the gateway (which releases a device's in-flight
        /// packets on its notices): 1.8 s instead of 0.9 s. The 80 ms minimum: on unlimited links 12.5 instead of 14 KB
        /// of notices, same time within noise. The 700 ms maximum (400 until batches went at QoS 0, which sends them
        /// sooner and smaller): bench N = 100 in 10 groups 1,154.6–1,157.0 KB at the broker against 1,159–1,160 KB,
        /// same time; N = 1,000 and the real heterogeneous fleet no slower (docs/protocol.md, NoticeBatch).</summary>
        public int NoticeHoldMs = 80;
        public int NoticeHoldMaxMs = 700;
        /// <summary>A silent interior relay of a relay tree (FlagSilentTree) notices after all when its forwarding ended
        /// longer than this after the copy arrived: the gateway, which reckons when it is through, would take it for
        /// done too early.</summary>
        public int QuietRelayMaxMs = 1000;
        /// <summary>Notices one CompactNoticeBatch holds at most (1 … 32; 13 + 8 per entry bytes of RAM). A device's share of
        /// the originals rarely gives it more than a few notices within NoticeHoldMs.</summary>
        public int NoticeBatchEntries = 8;
        /// <summary>While repairing and replies stop for this long: ask the next source.</summary>
        public int RepairRoundMs = 300;
        /// <summary>Packets a repair request asks one source for at first (RepairClient): few, because a device that
        /// stalls while the rollout still flows mostly misses packets that are on their way to it. Each request answered
        /// in full doubles the next one, up to MaxRepairReplies (a device catching up from its peers, or resumed after a
        /// restart, which starts there). At N = 1,000 (9 groups, 256 KiB) requests of 64 made peers send 90-200 ×
        /// the image of duplicates over the second network, and the devices that answered them became the rollout's
        /// tail: 41-67 s; asking 4 first, and with busy members declining (RepairServer), 1,035-1,074 × and
        /// 32.0-36.6 s (demo, embedded broker).</summary>
        public int FirstRepairReplies = 4;
        public int MaxRepairReplies = 64;
        /// <summary>At most one progress report (state, held count, bitmap) per this many ms while packets arrive, and
        /// only this long after the first packet not reported yet (a device whose packets all come within one interval
        /// sends none between accepting the image and installing it); state changes go at once. 10 s (issue #15: a
        /// report a second was, on slow links, the largest control cost at the broker: ~90 B per device per second of
        /// the rollout; at N = 1,000 with 5 s counted from the last report, every device reported its first data packet,
        /// which came long after its list-complete report: progress reports 85 KB at the broker, 66 KB with this rule).</summary>
        public int ProgressIntervalMs = 10000;
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
