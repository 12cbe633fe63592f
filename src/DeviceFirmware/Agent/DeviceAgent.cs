using System;
using IotOta.DeviceFirmware.Flash;
using IotOta.DeviceFirmware.Ports;
using IotOta.Shared.Chunking;
using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Agent
{
    /// <summary>
    /// The device core. Receives the signed manifest, tells originals (minimum units) from peer copies, writes every
    /// verified packet straight into the inactive slot, copies each minimum unit to its group and to the named
    /// devices of other groups, repairs gaps from peers first and the gateway last, verifies the whole image,
    /// switches the boot slot and restarts.
    /// Threads: any number of receive threads may call OnMqttMessage/OnPeerMessage; one thread calls PumpOnce in a
    /// loop (forwarding, install); one calls Tick periodically (repair, progress). Allocates nothing per packet.
    /// </summary>
    public sealed partial class DeviceAgent
    {
        private readonly DeviceConfig _cfg;
        private readonly IFlashLayout _flash;
        private readonly IMqttPort _mqtt;
        private readonly IPeerPort _peer;
        private readonly IClock _clock;
        private readonly IHashPort _hash;
        private readonly ISignatureVerifier _verifier;
        private readonly IRestartPort _restart;
        private readonly ILogPort _log;

        private readonly object _gate = new object();
        private readonly object _publishGate = new object();
        private readonly BootDataStore _boot;
        private readonly UpdateStateStore _store;
        private readonly MemberList _members;
        private readonly MemberListUpdate _memberUpdate = new MemberListUpdate();
        private readonly DataPacket _rx = new DataPacket();
        private readonly RepairRequest _repairRx = new RepairRequest();
        private readonly RepairRequest _repairTx = new RepairRequest();
        private readonly Presence _presence = new Presence();
        private readonly ReceiptNotice _notice = new ReceiptNotice();
        private readonly ProgressReport _progress = new ProgressReport();
        // The group's relay-tree table (current, and a spare to parse into: a bad table never replaces a good one).
        private RelayTree _tree = new RelayTree();
        private RelayTree _treeRx = new RelayTree();
        // Tree relay copies that came before this group's table (one bit per packet): relayed on once it arrives.
        private byte[] _treeOwed = new byte[0];
        private int _treeOwedCount;
        private readonly ForwardQueue _queue;
        private readonly ForwardJob _work = new ForwardJob();
        private readonly ForwardQueue _relayQueue;
        private readonly ForwardJob _relayWork = new ForwardJob();
        // The member (or repair) job in progress; only the pump thread touches these.
        private bool _workActive;
        private int _workNext;
        private int _workTargets;
        private int _workSent;
        private int _workFailed;
        private int _workSentTotal;
        // What the send buffer holds.
        private uint _txImage;
        private int _txIndex = -1;
        private int _txLen;
        private int _txPayloadLen;
        private readonly byte[] _hashOut = new byte[Manifest.HashLength];
        private readonly byte[] _imageHash = new byte[Manifest.HashLength];
        private readonly byte[] _txBuf;
        private readonly WireWriter _txWriter;
        private readonly byte[] _noticeBuf = new byte[ReceiptNotice.EncodedLength];
        private readonly byte[] _presenceBuf = new byte[Presence.MaxEncodedLength];
        private readonly uint[] _sendNode;
        private readonly uint[] _sendIp;
        private readonly int[] _sendPort;
        private readonly string _topicIn;
        private readonly string _topicOut;
        private readonly string _topicStatus;
        private readonly string _topicMembers;
        private readonly string _topicManifest;
        private readonly string _topicTree;

        private BootRecord _bootRec;
        private DeviceState _state = DeviceState.Idle;
        private Manifest _manifest;
        private PacketBitmap _held;
        private IFlashPartition _imageSlot;
        private byte[] _progressBuf = new byte[ProgressReport.FixedLength];
        private byte[] _repairBuf = new byte[RepairRequest.FixedLength];
        private bool _installRequested;
        private bool _stopped;
        private bool _progressNow = true;
        private bool _progressDirty;
        private long _lastNewPacketMs;
        private long _lastRepairMs;
        private long _lastProgressMs;
        private bool _repairing;
        private int _repairAttempt;
        private int _heldAtLastRepair;
        private long _bootedAtMs;
        private byte[] _sectorBuf;
        // Quarantine: a small fixed table of peer senders (kind 0, by SenderNode) and connections (kind 1, by the
        // adapter's connection id) with their bad-packet strikes; at QuarantineStrikes an entry is quarantined.
        private const int QuarantineSlots = 32;
        private readonly uint[] _qId = new uint[QuarantineSlots];
        private readonly byte[] _qKind = new byte[QuarantineSlots];
        private readonly int[] _qStrikes = new int[QuarantineSlots];
        private int _qUsed;
        // Where packets go (the inactive slot) and, for a sequential-only sink, where early packets wait.
        private readonly IImageSink _sink;
        private readonly StagingArea _staging;
        private readonly byte[] _stageBuf;

        public DeviceAgent(DeviceConfig config, IFlashLayout flash, IMqttPort mqtt, IPeerPort peer, IClock clock,
            IHashPort hash, ISignatureVerifier verifier, IRestartPort restart, ILogPort log)
            : this(config, flash, mqtt, peer, clock, hash, verifier, restart, log, null, null)
        {
        }

        /// <summary>With an image sink (null: random-offset writes into the slot, <see cref="RandomOffsetSink"/>) and,
        /// for a sequential-only sink, a staging partition for packets that arrive ahead of its write position
        /// (null: no staging, such packets are dropped and repaired later).</summary>
        public DeviceAgent(DeviceConfig config, IFlashLayout flash, IMqttPort mqtt, IPeerPort peer, IClock clock,
            IHashPort hash, ISignatureVerifier verifier, IRestartPort restart, ILogPort log, IImageSink sink,
            IFlashPartition staging)
        {
            _sink = sink == null ? new RandomOffsetSink(flash) : sink;
            if (_sink.SequentialOnly)
            {
                if (staging != null) _staging = new StagingArea(staging, config.MaxChunkSize);
                _stageBuf = new byte[config.MaxChunkSize];
            }
            _cfg = config;
            _flash = flash;
            _mqtt = mqtt;
            _peer = peer;
            _clock = clock;
            _hash = hash;
            _verifier = verifier;
            _restart = restart;
            _log = log;
            _boot = new BootDataStore(flash.BootData);
            _store = new UpdateStateStore(flash.UpdateState);
            _members = new MemberList(config.MaxMembers);
            _queue = new ForwardQueue(config.ForwardQueueCapacity);
            _relayQueue = new ForwardQueue(config.ForwardQueueCapacity);
            _txBuf = new byte[DataPacket.EncodedLength(DataPacket.MaxTargets, config.MaxChunkSize)];
            _txWriter = new WireWriter(_txBuf);
            int fanout = config.MaxMembers + DataPacket.MaxTargets;
            _sendNode = new uint[fanout];
            _sendIp = new uint[fanout];
            _sendPort = new int[fanout];
            _topicIn = Topics.DeviceIn(config.NodeId);
            _topicOut = Topics.DeviceOut(config.NodeId);
            _topicStatus = Topics.DeviceStatus(config.NodeId);
            _topicMembers = Topics.GroupMembers(config.GroupId);
            _topicManifest = Topics.GroupManifest(config.GroupId);
            _topicTree = Topics.GroupTree(config.GroupId);
            Counters = new DeviceCounters();
        }

        public DeviceCounters Counters { get; private set; }
        public DeviceConfig Config { get { return _cfg; } }

        public DeviceState State { get { lock (_gate) { return _state; } } }
        public FirmwareVersion RunningVersion { get { lock (_gate) { return _bootRec == null ? _cfg.FactoryVersion : _bootRec.Version; } } }
        public int ActiveSlot { get { lock (_gate) { return _bootRec == null ? 0 : _bootRec.ActiveSlot; } } }
        public uint CurrentImageId { get { lock (_gate) { return _manifest == null ? 0 : _manifest.ImageId; } } }
        public int HeldCount { get { lock (_gate) { return _held == null ? 0 : _held.HeldCount; } } }
        /// <summary>True when the packet of the current image is held (written and verified).</summary>
        public bool Holds(int index) { lock (_gate) { return _held != null && index >= 0 && index < _held.Count && _held.Get(index); } }
        public int ChunkCount { get { lock (_gate) { return _manifest == null ? 0 : _manifest.ChunkCount; } } }
        public int MemberCount { get { lock (_gate) { return _members.Count; } } }
        public bool IsStopped { get { lock (_gate) { return _stopped; } } }
        /// <summary>Packets the staging area can hold (0 without a sequential sink or staging partition).</summary>
        public int StagingCapacity { get { return _staging == null ? 0 : _staging.Capacity; } }
        /// <summary>Packets in the staging area now.</summary>
        public int StagedCount { get { lock (_gate) { return _staging == null ? 0 : _staging.Count; } } }
        /// <summary>True when the sink only appends in order.</summary>
        public bool SequentialSink { get { return _sink.SequentialOnly; } }

        /// <summary>Boots: reads the boot record (acting as the bootloader: a pending image goes on trial, an image
        /// that was on trial and never confirmed is rolled back), then resumes any update stored in flash.</summary>
        public void Start()
        {
            lock (_gate)
            {
                _bootRec = _boot.Load(_cfg.FactoryVersion);
                if (_bootRec.State == BootState.Pending)
                {
                    BootRecord r = _bootRec.Clone();
                    r.State = BootState.Trial;
                    _boot.Save(r);
                    _bootRec = r;
                }
                else if (_bootRec.State == BootState.Trial)
                {
                    BootRecord r = _bootRec.Clone();
                    r.ActiveSlot = 1 - r.ActiveSlot;
                    r.Version = _bootRec.PreviousVersion;
                    r.ImageId = _bootRec.PreviousImageId;
                    // the other slot now holds the image that failed its trial
                    r.PreviousVersion = _bootRec.Version;
                    r.PreviousImageId = _bootRec.ImageId;
                    r.State = BootState.Confirmed;
                    _boot.Save(r);
                    _bootRec = r;
                    _state = DeviceState.RolledBack;
                    Log("image on trial was never confirmed: rolled back to " + r.Version.ToString());
                }
                if (_bootRec.State == BootState.Trial) _state = DeviceState.PendingConfirm;
                RestoreUpdate();
                _lastNewPacketMs = _clock.NowMs;
                _bootedAtMs = _lastNewPacketMs;
            }
        }

        /// <summary>Stops all work (power off); the adapters stop calling in.</summary>
        public void Stop()
        {
            lock (_gate) { _stopped = true; }
        }

        private void Log(string message)
        {
            if (_log != null) _log.Log("[" + _cfg.NodeId + "] " + message);
        }
    }
}
