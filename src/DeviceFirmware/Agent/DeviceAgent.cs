using IotOta.DeviceFirmware.Copies;
using IotOta.DeviceFirmware.Crypto;
using IotOta.DeviceFirmware.Flash;
using IotOta.DeviceFirmware.Ports;
using IotOta.DeviceFirmware.Receive;
using IotOta.DeviceFirmware.Repair;
using IotOta.DeviceFirmware.Slots;
using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Agent
{
    /// <summary>
    /// The device core: a thin dispatcher over named parts, all guarded by one lock. Messages from the first network
    /// (manifests, originals, member lists, relay-tree tables) and the second (copies, repair requests) go to the
    /// <see cref="ReceivePath"/> (check, write into the inactive slot, persist), the <see cref="SlotLifecycle"/>
    /// (which manifests may replace the slot; install, trial, confirm, rollback) and the <see cref="RepairServer"/>;
    /// the <see cref="Forwarder"/> sends the copies whose destinations the <see cref="CopyPlanner"/> decides; the
    /// <see cref="RepairClient"/> asks for gaps; the <see cref="StatusReporter"/> reports presence and progress.
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
        private readonly IRestartPort _restart;
        private readonly DeviceLog _log;
        private readonly object _gate = new object();

        private readonly SlotLifecycle _life;
        private readonly ReceivePath _rx;
        private readonly UpdateResume _resume;
        private readonly ManifestSignature _signature;
        private readonly PeerQuarantine _quarantine;
        private readonly MemberList _members;
        private readonly MemberListStore _memberStore;
        // The member list came back from flash at boot (MemberListStore): no need for the broker's retained copy.
        private bool _membersRestored;
        private readonly RelayTreeTable _trees;
        private readonly CopyPlanner _planner;
        private readonly Forwarder _forwarder;
        private readonly RepairServer _repairServer;
        private readonly RepairClient _repairClient;
        private readonly StatusReporter _status;

        private readonly DataPacket _packet = new DataPacket();
        private readonly string _topicOut;
        private readonly string _topicIn;
        private readonly string _topicMembers;
        private readonly string _topicManifest;
        private readonly string _topicTree;
        private readonly RootAssembly _roots;
        private bool _stopped;
        private long _bootedAtMs;

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
            _cfg = config;
            _flash = flash;
            _mqtt = mqtt;
            _peer = peer;
            _clock = clock;
            _restart = restart;
            _log = new DeviceLog(log, config.NodeId);
            Counters = new DeviceCounters();
            _life = new SlotLifecycle(flash.BootData, config.FactoryVersion, Counters, _log);
            PacketStore packets = new PacketStore(flash, sink, staging, config.MaxChunkSize, Counters);
            _rx = new ReceivePath(flash.UpdateState, packets, hash, clock, config.MaxChunkSize, Counters);
            _signature = new ManifestSignature(hash, verifier);
            _resume = new UpdateResume(_rx, _life, flash, config.MaxChunkSize, _signature, Counters, _log);
            _quarantine = new PeerQuarantine(config.QuarantineStrikes, Counters, _log);
            _members = new MemberList(config.MaxMembers);
            _memberStore = new MemberListStore(flash.BootData);
            _trees = new RelayTreeTable(flash.UpdateState, _rx.Store.TreeRegionOffset, hash);
            _planner = new CopyPlanner(config.NodeId);
            _topicOut = Topics.DeviceOut(config.NodeId);
            _roots = new RootAssembly(verifier, hash, _rx, config.MaxChunkSize);
            _resume.Roots = _roots;
            _forwarder = new Forwarder(config, _gate, _planner, _members, _trees, _rx, _roots, peer, mqtt, _topicOut, clock, Counters);
            _repairServer = new RepairServer(_rx, _forwarder, _planner, _members, _quarantine, Counters);
            _repairClient = new RepairClient(config, _members, _quarantine, Counters);
            _status = new StatusReporter(config, _gate, mqtt, _topicOut, flash, _life, _rx);
            _topicIn = Topics.DeviceIn(config.NodeId);
            _topicMembers = Topics.GroupMembers(config.GroupId);
            _topicManifest = Topics.GroupManifest(config.GroupId);
            _topicTree = Topics.GroupTree(config.GroupId);
        }

        public DeviceCounters Counters { get; private set; }
        public DeviceConfig Config { get { return _cfg; } }

        public DeviceState State { get { lock (_gate) { return _life.State; } } }
        public FirmwareVersion RunningVersion { get { lock (_gate) { return _life.RunningVersion; } } }
        public int ActiveSlot { get { lock (_gate) { return _life.ActiveSlot; } } }
        public uint CurrentImageId { get { lock (_gate) { return _rx.Manifest == null ? 0 : _rx.Manifest.ImageId; } } }
        public int HeldCount { get { lock (_gate) { return _rx.HeldCount; } } }
        /// <summary>True when the packet of the current image is held (written and verified).</summary>
        public bool Holds(int index) { lock (_gate) { return _rx.Holds(index); } }
        public int ChunkCount { get { lock (_gate) { return _rx.Manifest == null ? 0 : _rx.Manifest.ChunkCount; } } }
        public int MemberCount { get { lock (_gate) { return _members.Count; } } }
        public bool IsStopped { get { lock (_gate) { return _stopped; } } }
        /// <summary>Packets the staging area can hold (0 without a sequential sink or staging partition).</summary>
        public int StagingCapacity { get { return _rx.Packets.StagingCapacity; } }
        /// <summary>Packets in the staging area now.</summary>
        public int StagedCount { get { lock (_gate) { return _rx.Packets.StagedCount; } } }
        /// <summary>True when the sink only appends in order.</summary>
        public bool SequentialSink { get { return _rx.Packets.SequentialOnly; } }

        /// <summary>Boots: reads the boot record (acting as the bootloader: a pending image goes on trial, an image
        /// that was on trial and never confirmed is rolled back), then resumes any update stored in flash.</summary>
        public void Start()
        {
            lock (_gate)
            {
                _life.Boot();
                // The stored manifest's checks first (bounded scratch, the verifier's working state dropped when it
                // returns), then the update is restored: held packets are hashed again whole, through a buffer of one
                // chunk that exists only here, at start (the core keeps no packet-sized buffer).
                Manifest stored = _resume.ReadStored();
                if (stored != null) _resume.Restore(stored);
                _membersRestored = _memberStore.Restore(_members, _cfg.GroupId, _forwarder.BorrowBuffer());
                if (_rx.Manifest != null) SizeFor(_rx.Manifest.ChunkCount);
                if (_rx.Manifest != null && _life.State == DeviceState.Receiving) _repairClient.Resumed();
                _rx.LastNewPacketMs = _clock.NowMs;
                _bootedAtMs = _rx.LastNewPacketMs;
            }
        }

        private void SubscribeUnlessKept(string topic, bool haveWhatItBrings)
        {
            if (!haveWhatItBrings || !_mqtt.Subscribed(topic)) _mqtt.Subscribe(topic);
        }

        /// <summary>Stops all work (power off); the adapters stop calling in.</summary>
        public void Stop()
        {
            lock (_gate) { _stopped = true; }
        }

        /// <summary>Under the lock: the core stops for a restart (installed, or its trial ended) and, unlike a power-off,
        /// reports nothing more (<see cref="StatusReporter.Stopped"/>): the next core announces itself.</summary>
        private void StopForRestart()
        {
            _stopped = true;
            _status.Stopped = true;
        }

        /// <summary>Called by the MQTT adapter after every (re)connect: subscribes, confirms an image on trial (its
        /// self-test: the gateway can be reached) and announces itself once.</summary>
        public void OnConnected()
        {
            // A session that kept this device's subscriptions across the restart (the broker still holds them) needs
            // no new SUBSCRIBE, which would only bring back each topic's retained message: the member list when the core
            // has it from flash, the manifest and relay tree when it is not receiving (a core that restarted while
            // receiving takes them again, as it must).
            bool receiving;
            lock (_gate) receiving = _life.State == DeviceState.Receiving || _rx.Manifest == null;
            SubscribeUnlessKept(_topicIn, true);
            SubscribeUnlessKept(_topicMembers, _membersRestored);
            SubscribeUnlessKept(_topicManifest, !receiving);
            SubscribeUnlessKept(_topicTree, !receiving);
            // The self-test of an image on trial: the broker answered the connect, so the gateway can be reached.
            // Confirmed before the presence goes out, so one presence (retained) says both the new version and the new
            // state: each is a message through the broker to the gateway (issue #15).
            bool reachable = _mqtt.IsConnected;
            lock (_gate)
            {
                if (reachable && !_stopped) _life.Confirm();
                // A progress report follows only while the core receives an image (a restart or reconnect
                // mid-download: the gateway learns what it holds). Updated, rolled back, failed or idle, the presence
                // says all there is: version and state. The presence is sent again until it goes out
                // (StatusReporter.PublishPresenceIfDue), and the gateway does not take the stopped core's late report
                // (DeviceRegistry.OnProgress).
                _status.ReportNow = _life.State == DeviceState.Receiving;
            }
            _status.PublishPresence();
        }

        /// <summary>The running image is on trial and its self-test failed: restart, and the bootloader logic in
        /// Start brings the previous image back (and reports RolledBack).</summary>
        public void SelfTestFailed(string why)
        {
            lock (_gate)
            {
                if (_stopped || !_life.OnTrial) return;
                _life.AbandonTrial("self-test failed: " + why);
                StopForRestart();
            }
            _restart.RequestRestart();
        }

        /// <summary>Does one piece of forwarding work (or the install when everything is held and forwarded).
        /// Returns false when there was nothing to do.</summary>
        public bool PumpOnce()
        {
            // A report due at once (the whole hash list held: the gateway plans data for the devices that report it)
            // goes from the pump too, not only from the next tick: a fleet's devices may share their tick threads,
            // and a tick waits for each publish's ack (the virtual fleet's 1,000 devices tick on 8 threads; their
            // reports reached the gateway ~1 s after the devices held the list).
            // Only from a core that has not stopped, and only once the list is whole (until then ReportNow waits). The
            // flag is read first without the lock (checked again under it), so a pass with no report due takes no
            // lock for it.
            if (_status.ReportNow)
            {
                bool report;
                lock (_gate) report = !_stopped && _status.ReportNow && _rx.ListComplete;
                if (report) _status.PublishProgressIfDue(_clock.NowMs);
            }
            int prepared;
            bool idle = false;
            lock (_gate)
            {
                if (_stopped) return false;
                prepared = _forwarder.Prepare();
                if (prepared == Forwarder.Skipped) return true;
                if (prepared == Forwarder.Idle)
                {
                    if (!_rx.InstallRequested) idle = true;
                    else
                    {
                        _rx.InstallRequested = false;
                        if (!Install()) return true;
                    }
                }
            }
            if (idle)
            {
                _forwarder.FlushNotices(false); // nothing to forward now: the batched notices go once the oldest waited
                return false;
            }
            if (prepared == Forwarder.Idle)
            {
                _forwarder.FlushNotices(true);
                _restart.RequestRestart(); // installed
            }
            else _forwarder.Send(prepared);
            return true;
        }

        /// <summary>Under the lock: verifies the whole image and switches the boot slot. True when installed (the
        /// device stops; the caller restarts it).</summary>
        private bool Install()
        {
            Manifest m = _rx.Manifest;
            if (m == null || !_rx.IsComplete) return false;
            if (!_life.Install(m, _rx.ImageSlot, _rx.Packets.Sink, _rx.Hash, _forwarder.BorrowBuffer()))
            {
                _status.ReportNow = true;
                return false;
            }
            StopForRestart();
            return true;
        }

        /// <summary>Periodic work: the trial's deadline, repair requests when packets stop arriving, progress reports.</summary>
        public void Tick()
        {
            long now = _clock.NowMs;
            bool abandon = false;
            lock (_gate)
            {
                if (_stopped) return;
                if (_life.TrialExpired(now, _bootedAtMs, _cfg.TrialTimeoutMs))
                {
                    _life.AbandonTrial("not confirmed within " + _cfg.TrialTimeoutMs + " ms");
                    StopForRestart();
                    abandon = true;
                }
            }
            if (abandon)
            {
                _restart.RequestRestart();
                return;
            }
            int repairTo = RepairClient.None;
            byte[] buf = null;
            int len = 0;
            uint ip = 0;
            int port = 0;
            lock (_gate)
            {
                if (_stopped) return;
                if (_life.State == DeviceState.Receiving && _rx.Held != null && !_rx.IsComplete && _rx.ListComplete)
                {
                    repairTo = _repairClient.Due(now, _rx.Manifest, _rx.Held, _rx.LastNewPacketMs);
                    buf = _repairClient.Buffer;
                    len = _repairClient.Length;
                    ip = _repairClient.PeerIp;
                    port = _repairClient.PeerPort;
                }
                else
                {
                    _repairClient.Idle();
                }
            }
            if (repairTo == RepairClient.ToPeer) _peer.Send(ip, port, buf, 0, len);
            else if (repairTo == RepairClient.ToGateway) _mqtt.Publish(_topicOut, buf, 0, len, false);
            AskForPieces(now);
            AskForTable(now);
            _forwarder.FlushNotices(false);
            _status.PublishPresenceIfDue();
            _status.PublishProgressIfDue(now);
        }

        /// <summary>A new image of chunkCount packets: the parts size their per-image buffers (bitmaps) once.</summary>
        private void SizeFor(int chunkCount)
        {
            _status.SizeFor(chunkCount);
            _repairClient.Begin(chunkCount);
            _trees.SizeFor(chunkCount);
        }

        /// <summary>True when packets from this peer node are no longer accepted (it sent bad packets repeatedly).</summary>
        public bool IsPeerQuarantined(uint nodeId)
        {
            lock (_gate) { return _quarantine.IsQuarantined(PeerQuarantine.Sender, nodeId); }
        }

        /// <summary>True when packets that come on this peer connection are no longer accepted.</summary>
        public bool IsConnectionQuarantined(uint connection)
        {
            lock (_gate) { return _quarantine.IsQuarantined(PeerQuarantine.Connection, connection); }
        }
    }
}
