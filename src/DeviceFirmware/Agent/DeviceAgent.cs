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
    public sealed class DeviceAgent
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
        private readonly byte[] _presenceBuf = new byte[Presence.EncodedLength];
        private readonly uint[] _sendNode;
        private readonly uint[] _sendIp;
        private readonly int[] _sendPort;
        private readonly string _topicIn;
        private readonly string _topicOut;
        private readonly string _topicStatus;
        private readonly string _topicMembers;
        private readonly string _topicManifest;

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
            Counters = new DeviceCounters();
        }

        public DeviceCounters Counters { get; private set; }
        public DeviceConfig Config { get { return _cfg; } }

        public DeviceState State { get { lock (_gate) { return _state; } } }
        public FirmwareVersion RunningVersion { get { lock (_gate) { return _bootRec == null ? _cfg.FactoryVersion : _bootRec.Version; } } }
        public int ActiveSlot { get { lock (_gate) { return _bootRec == null ? 0 : _bootRec.ActiveSlot; } } }
        public uint CurrentImageId { get { lock (_gate) { return _manifest == null ? 0 : _manifest.ImageId; } } }
        public int HeldCount { get { lock (_gate) { return _held == null ? 0 : _held.HeldCount; } } }
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

        private void RestoreUpdate()
        {
            int len = _store.StoredManifestLength();
            if (len == 0) return;
            byte[] buf = new byte[len];
            Manifest m = null;
            if (_store.ReadManifest(buf, 0, len))
            {
                try
                {
                    m = Manifest.Decode(buf, 0, len);
                }
                catch (ProtocolException)
                {
                    m = null;
                }
            }
            if (m == null || !_verifier.Verify(m.KeyId, buf, 0, m.SignedLength, m.Signature, 0))
            {
                Log("stored update state is not a valid signed manifest; cleared");
                _store.Clear();
                return;
            }
            _manifest = m;
            _held = new PacketBitmap(m.ChunkCount);
            SizeBuffers(m.ChunkCount);
            if (m.ImageId == _bootRec.ImageId && m.Version.SameAs(_bootRec.Version))
            {
                // The running image: every packet is held, in the active slot; keep serving it to peers.
                for (int i = 0; i < m.ChunkCount; i++) _held.Set(i);
                _imageSlot = _flash.Slot(_bootRec.ActiveSlot);
                if (_state == DeviceState.Idle) _state = DeviceState.Updated;
                return;
            }
            if (m.ImageId == _bootRec.PreviousImageId && _state == DeviceState.RolledBack)
            {
                // The stored update is the image that was just rolled back: forget it, or it would be installed again.
                _store.Clear();
                _manifest = null;
                _held = null;
                return;
            }
            if (m.ChunkSize > _cfg.MaxChunkSize)
            {
                Log("stored update has chunks larger than this device accepts; cleared");
                _store.Clear();
                _manifest = null;
                _held = null;
                return;
            }
            _imageSlot = _flash.Slot(1 - _bootRec.ActiveSlot);
            PacketBitmap claimed = new PacketBitmap(m.ChunkCount);
            _store.LoadHeld(len, claimed);
            if (_sink.SequentialOnly) RestoreSequential(m, claimed, 1 - _bootRec.ActiveSlot);
            else
            {
                _sink.Resume(1 - _bootRec.ActiveSlot, (int)m.ImageSize, 0);
                VerifyAndCleanSlot(m, claimed);
            }
            _state = DeviceState.Receiving;
            if (_held.IsComplete) _installRequested = true;
            Log("resuming update " + m.Version.ToString() + " with " + _held.HeldCount + "/" + m.ChunkCount + " packets held");
        }

        /// <summary>
        /// After a restart mid-download. The persisted bitmap only claims packets; a power cut can leave a packet
        /// torn in flash (its bit not yet written, or, after a torn cleanup, written). So every claimed packet is
        /// hashed again and only verified ones count as held. Then every slot sector that overlaps a packet not
        /// held whose bytes are not blank (a torn write) is erased and the verified packets in it are written back,
        /// so each missing packet can be written again (NOR only clears bits). This works for any chunk size: a
        /// cut during the cleanup only loses packets of that sector, which fail their hash on the next start and
        /// are fetched again. Runs at start only; the buffers it uses are allocated once.
        /// </summary>
        private void VerifyAndCleanSlot(Manifest m, PacketBitmap claimed)
        {
            IFlashPartition slot = _imageSlot;
            for (int i = 0; i < m.ChunkCount; i++)
            {
                if (!claimed.Get(i)) continue;
                int len = m.ChunkLength(i);
                slot.Read(m.ChunkOffset(i), _txBuf, 0, len);
                _hash.ChunkHash(m.HashKind, _txBuf, 0, len, _hashOut, 0);
                if (m.ChunkHashEquals(i, _hashOut, 0)) _held.Set(i);
                else Counters.ResumeHeldInvalid++;
            }
            _txIndex = -1;
            _txLen = 0;
            int sector = slot.SectorSize;
            if (_sectorBuf == null || _sectorBuf.Length < sector) _sectorBuf = new byte[sector];
            long imageEnd = m.ImageSize;
            for (long sec = 0; sec < imageEnd; sec += sector)
            {
                int first = (int)(sec / m.ChunkSize);
                long secEnd = sec + sector < imageEnd ? sec + sector : imageEnd;
                int last = (int)((secEnd - 1) / m.ChunkSize);
                bool needsRead = false;
                for (int c = first; c <= last; c++)
                {
                    if (!_held.Get(c)) { needsRead = true; break; }
                }
                if (!needsRead) continue;
                slot.Read((int)sec, _sectorBuf, 0, sector);
                bool dirty = false;
                for (int c = first; c <= last && !dirty; c++)
                {
                    if (_held.Get(c)) continue;
                    long from = (long)c * m.ChunkSize;
                    long to = from + m.ChunkLength(c);
                    if (from < sec) from = sec;
                    if (to > secEnd) to = secEnd;
                    for (long b = from; b < to; b++)
                    {
                        if (_sectorBuf[(int)(b - sec)] != 0xFF) { dirty = true; break; }
                    }
                }
                if (!dirty) continue;
                slot.Erase((int)sec, sector);
                for (int c = first; c <= last; c++)
                {
                    if (!_held.Get(c)) continue;
                    long from = (long)c * m.ChunkSize;
                    long to = from + m.ChunkLength(c);
                    if (from < sec) from = sec;
                    if (to > secEnd) to = secEnd;
                    slot.Write((int)from, _sectorBuf, (int)(from - sec), (int)(to - from));
                }
                Counters.ResumeSectorsCleaned++;
            }
        }

        /// <summary>
        /// Resume with a sequential sink. Held = the verified prefix of the slot (hashed again, claimed or not: a cut
        /// after a write but before its bitmap mark leaves a good packet) plus every staged packet whose hash checks.
        /// The sink resumes at the end of the prefix (it cleans a torn write there); a sink that cannot resume starts
        /// over and only the staged packets stay held. Then staging drains as far as it can.
        /// </summary>
        private void RestoreSequential(Manifest m, PacketBitmap claimed, int slotIndex)
        {
            IFlashPartition slot = _imageSlot;
            int prefix = 0;
            while (prefix < m.ChunkCount)
            {
                int len = m.ChunkLength(prefix);
                slot.Read(m.ChunkOffset(prefix), _txBuf, 0, len);
                _hash.ChunkHash(m.HashKind, _txBuf, 0, len, _hashOut, 0);
                if (!m.ChunkHashEquals(prefix, _hashOut, 0)) break;
                prefix++;
            }
            _txIndex = -1;
            _txLen = 0;
            int prefixBytes = prefix == m.ChunkCount ? (int)m.ImageSize : m.ChunkOffset(prefix);
            if (!_sink.Resume(slotIndex, (int)m.ImageSize, prefixBytes))
            {
                _sink.Begin(slotIndex, (int)m.ImageSize);
                prefix = 0;
            }
            for (int i = 0; i < prefix; i++)
            {
                _held.Set(i);
                if (!claimed.Get(i)) _store.MarkHeld(i);
            }
            if (_staging != null)
            {
                _staging.Load(m.ImageId, m.ChunkCount);
                for (int e = 0; e < _staging.Capacity; e++)
                {
                    int idx = _staging.IndexAt(e);
                    if (idx < 0) continue;
                    if (_held.Get(idx))
                    {
                        _staging.Free(e); // already in the slot (a cut between drain write and free)
                        continue;
                    }
                    int len = m.ChunkLength(idx);
                    _staging.Read(e, _stageBuf, 0, len);
                    _hash.ChunkHash(m.HashKind, _stageBuf, 0, len, _hashOut, 0);
                    if (!m.ChunkHashEquals(idx, _hashOut, 0))
                    {
                        _staging.Free(e);
                        continue;
                    }
                    _held.Set(idx);
                    if (!claimed.Get(idx)) _store.MarkHeld(idx);
                }
                if (_staging.Count > Counters.StagingHighWater) Counters.StagingHighWater = _staging.Count;
            }
            for (int i = 0; i < m.ChunkCount; i++)
            {
                if (claimed.Get(i) && !_held.Get(i)) Counters.ResumeHeldInvalid++;
            }
            Drain(m);
        }

        /// <summary>Puts a verified packet into the sink, or for a sequential sink that is not at its offset yet into
        /// staging. False when staging is full (the packet is dropped and will be repaired).</summary>
        private bool StorePacket(Manifest m, int idx, byte[] buffer, int offset, int count)
        {
            int at = m.ChunkOffset(idx);
            if (!_sink.SequentialOnly || at == _sink.NextOffset)
            {
                _sink.Write(at, buffer, offset, count);
                return true;
            }
            if (_staging == null || !_staging.Put(m.ImageId, idx, buffer, offset, count))
            {
                Counters.StagingFullDrops++;
                return false;
            }
            Counters.PacketsStaged++;
            if (_staging.Count > Counters.StagingHighWater) Counters.StagingHighWater = _staging.Count;
            return true;
        }

        /// <summary>Moves staged packets into a sequential sink while the next one it needs is staged. Order on flash:
        /// write into the sink, then free the entry; a cut in between leaves a copy that the resume frees.</summary>
        private void Drain(Manifest m)
        {
            if (_staging == null || !_sink.SequentialOnly) return;
            while (_sink.NextOffset < (int)m.ImageSize && _staging.Count > 0)
            {
                int next = _sink.NextOffset / m.ChunkSize;
                int e = _staging.Find(next);
                if (e < 0) return;
                int len = m.ChunkLength(next);
                _staging.Read(e, _stageBuf, 0, len);
                _sink.Write(m.ChunkOffset(next), _stageBuf, 0, len);
                _staging.Free(e);
                Counters.StagingDrained++;
            }
        }

        private void SizeBuffers(int chunkCount)
        {
            int p = ProgressReport.EncodedLength(chunkCount);
            if (_progressBuf.Length < p) _progressBuf = new byte[p];
            int r = RepairRequest.EncodedLength(chunkCount);
            if (_repairBuf.Length < r) _repairBuf = new byte[r];
        }

        /// <summary>Called by the MQTT adapter after every (re)connect: subscribes, announces itself, and — the
        /// self-test of an image on trial — confirms the image once the gateway can be reached.</summary>
        public void OnConnected()
        {
            _mqtt.Subscribe(_topicIn);
            _mqtt.Subscribe(_topicMembers);
            _mqtt.Subscribe(_topicManifest);
            bool announced = PublishPresence();
            lock (_gate)
            {
                if (announced && _bootRec.State == BootState.Trial && !_stopped)
                {
                    _boot.Confirm(); // one marker write: a cut here leaves the image on trial or confirmed, never rolled back
                    BootRecord r = _bootRec.Clone();
                    r.State = BootState.Confirmed;
                    _bootRec = r;
                    _state = DeviceState.Updated;
                    Log("self-test passed: confirmed " + r.Version.ToString());
                }
                _progressNow = true;
            }
            if (announced) PublishPresence();
        }

        private bool PublishPresence()
        {
            lock (_publishGate)
            {
                Presence p = _presence;
                lock (_gate)
                {
                    p.NodeId = _cfg.NodeId;
                    p.GroupId = _cfg.GroupId;
                    p.Online = true;
                    p.Ip = _cfg.PeerIp;
                    p.Port = _cfg.PeerPort;
                    p.RunningVersion = _bootRec.Version;
                    p.State = _state;
                }
                int n = p.Encode(_presenceBuf, 0);
                return _mqtt.Publish(_topicStatus, _presenceBuf, 0, n, true);
            }
        }

        /// <summary>A message from the first network.</summary>
        public void OnMqttMessage(string topic, byte[] buffer, int offset, int count)
        {
            if (count == 0 && topic == _topicManifest) return; // an aborted rollout cleared its retained manifest
            try
            {
                MessageType t = WireHeader.Peek(buffer, offset, count);
                if (t == MessageType.Manifest) HandleManifest(buffer, offset, count);
                else if (t == MessageType.Original || t == MessageType.Copy) HandleData(buffer, offset, count, false, 0);
                else if (t == MessageType.MemberList) HandleMembers(buffer, offset, count);
                else Reject("unexpected MQTT message on " + topic);
            }
            catch (ProtocolException e)
            {
                Reject(e.Message);
            }
            catch (FlashException e)
            {
                Fail("flash: " + e.Message);
            }
        }

        /// <summary>A message from the second network (a peer's socket) whose connection the adapter cannot name.</summary>
        public void OnPeerMessage(byte[] buffer, int offset, int count)
        {
            OnPeerMessage(0, buffer, offset, count);
        }

        /// <summary>A message from the second network. <paramref name="connection"/> names the socket it came on
        /// (any id the adapter keeps stable per connection, 0 = unknown): a connection that delivers bad packets
        /// repeatedly is quarantined even when its packets claim another sender.</summary>
        public void OnPeerMessage(uint connection, byte[] buffer, int offset, int count)
        {
            try
            {
                lock (_gate)
                {
                    if (connection != 0 && IsQuarantined(1, connection))
                    {
                        Counters.QuarantinedDrops++;
                        return;
                    }
                }
                MessageType t = WireHeader.Peek(buffer, offset, count);
                if (t == MessageType.Copy) HandleData(buffer, offset, count, true, connection);
                else if (t == MessageType.RepairRequest) HandleRepairRequest(buffer, offset, count);
                else
                {
                    lock (_gate) { if (connection != 0) Strike(1, connection); }
                    Reject("unexpected peer message type " + (int)t);
                }
            }
            catch (ProtocolException e)
            {
                lock (_gate) { if (connection != 0) Strike(1, connection); }
                Reject(e.Message);
            }
            catch (FlashException e)
            {
                Fail("flash: " + e.Message);
            }
        }

        private void Reject(string why)
        {
            lock (_gate) { Counters.MessagesRejected++; }
            Log("rejected: " + why);
        }

        private void Fail(string why)
        {
            lock (_gate)
            {
                _state = DeviceState.Failed;
                _progressNow = true;
            }
            Log("failed: " + why);
        }

        private void HandleMembers(byte[] buffer, int offset, int count)
        {
            lock (_gate)
            {
                _memberUpdate.Parse(buffer, offset, count);
                _members.Apply(_memberUpdate, _cfg.GroupId);
            }
        }

        private void HandleManifest(byte[] buffer, int offset, int count)
        {
            lock (_gate)
            {
                if (_stopped) return;
                if (count >= 8 && _manifest != null)
                {
                    uint id = (uint)(buffer[offset + 4] | (buffer[offset + 5] << 8) | (buffer[offset + 6] << 16) | (buffer[offset + 7] << 24));
                    if (id == _manifest.ImageId) return; // already working on (or serving) this image
                }
                Manifest m = Manifest.Decode(buffer, offset, count);
                if (!_verifier.Verify(m.KeyId, buffer, offset, m.SignedLength, m.Signature, 0))
                {
                    Refuse("manifest signature does not verify (key " + m.KeyId + ")");
                    return;
                }
                if (_bootRec.State != BootState.Confirmed)
                {
                    // the other slot holds the image to roll back to: nothing may erase it before the confirmation
                    Counters.ManifestsDeferred++;
                    return;
                }
                if (m.ImageId == _bootRec.PreviousImageId && _bootRec.PreviousImageId != 0 && !m.IsRollback
                    && m.Version.CompareTo(_bootRec.Version) > 0)
                {
                    Refuse("image " + m.Version.ToString() + " failed its trial on this device (rolled back)");
                    return;
                }
                int cmp = m.Version.CompareTo(_bootRec.Version);
                if (cmp == 0) return; // already running it
                if (cmp < 0 && !m.IsRollback)
                {
                    Refuse("manifest " + m.Version.ToString() + " is older than running " + _bootRec.Version.ToString() + " and not a signed rollback");
                    return;
                }
                if (m.ChunkSize > _cfg.MaxChunkSize)
                {
                    Refuse("chunk size " + m.ChunkSize + " exceeds this device's " + _cfg.MaxChunkSize);
                    return;
                }
                IFlashPartition slot = _flash.Slot(1 - _bootRec.ActiveSlot);
                if (m.ImageSize > (uint)slot.Size)
                {
                    Refuse("image of " + m.ImageSize + " bytes does not fit slot of " + slot.Size);
                    return;
                }
                if (!_store.Fits(count, m.ChunkCount))
                {
                    Refuse("manifest does not fit the update-state partition");
                    return;
                }
                _queue.Clear();
                _relayQueue.Clear();
                _workActive = false;
                _sink.Begin(1 - _bootRec.ActiveSlot, (int)m.ImageSize);
                if (_staging != null) _staging.Reset();
                _store.Begin(buffer, offset, count, m.ChunkCount);
                _manifest = m;
                _held = new PacketBitmap(m.ChunkCount);
                _imageSlot = slot;
                _installRequested = false;
                _state = DeviceState.Receiving;
                _lastNewPacketMs = _clock.NowMs;
                _repairing = false;
                _repairAttempt = 0;
                SizeBuffers(m.ChunkCount);
                _progressNow = true;
                Log("accepted manifest " + m.Version.ToString() + ": " + m.ImageSize + " bytes in " + m.ChunkCount + " packets");
            }
        }

        private void Refuse(string why)
        {
            Counters.ManifestsRefused++;
            Log("refused: " + why);
        }

        private void HandleData(byte[] buffer, int offset, int count, bool fromPeer, uint connection)
        {
            lock (_gate)
            {
                if (_stopped) return;
                DataPacket p = _rx;
                p.Parse(buffer, offset, count);
                if (fromPeer && IsQuarantined(0, p.SenderNode))
                {
                    Counters.QuarantinedDrops++;
                    return;
                }
                Manifest m = _manifest;
                if (m == null || p.ImageId != m.ImageId)
                {
                    Counters.StalePackets++; // not (or no longer) the image being distributed: a replay, harmless
                    return;
                }
                int idx = p.Index;
                if (idx >= m.ChunkCount || p.PayloadLength != m.ChunkLength(idx))
                {
                    Counters.MessagesRejected++;
                    if (fromPeer) StrikePeer(p.SenderNode, connection);
                    return;
                }
                if (p.IsOriginal) Counters.OriginalsReceived++;
                else if (p.IsRelay) Counters.RelaysReceived++;
                else Counters.CopiesReceived++;
                if (!_held.Get(idx))
                {
                    _hash.ChunkHash(m.HashKind, p.PayloadBuffer, p.PayloadOffset, p.PayloadLength, _hashOut, 0);
                    if (!m.ChunkHashEquals(idx, _hashOut, 0))
                    {
                        Counters.BadChunkHashes++;
                        if (fromPeer) StrikePeer(p.SenderNode, connection);
                        return; // never reaches flash, never forwarded
                    }
                    if (!StorePacket(m, idx, p.PayloadBuffer, p.PayloadOffset, p.PayloadLength)) return;
                    _store.MarkHeld(idx);
                    _held.Set(idx);
                    Drain(m);
                    Counters.PacketsWritten++;
                    _lastNewPacketMs = _clock.NowMs;
                    _progressDirty = true;
                    if (_held.IsComplete && _state == DeviceState.Receiving) _installRequested = true;
                }
                else
                {
                    Counters.DuplicatePackets++;
                }
                if (!p.IsMinimumUnit) return;
                // A minimum unit: this device copies it (from its own verified flash) to the named devices of other
                // groups first, then to the members of its group.
                int relays = 0;
                if (p.TargetCount > 0)
                {
                    ForwardJob rj = _relayQueue.Reserve();
                    if (rj == null)
                    {
                        Counters.ForwardDrops++;
                    }
                    else
                    {
                        rj.Kind = ForwardJob.KindRelay;
                        rj.ImageId = m.ImageId;
                        rj.Index = idx;
                        rj.TargetCount = p.TargetCount;
                        for (int i = 0; i < p.TargetCount; i++)
                        {
                            rj.TargetNode[i] = p.TargetNode[i];
                            rj.TargetIp[i] = p.TargetIp[i];
                            rj.TargetPort[i] = p.TargetPort[i];
                        }
                        _relayQueue.Commit();
                        relays = p.TargetCount;
                    }
                }
                ForwardJob job = _queue.Reserve();
                if (job == null)
                {
                    Counters.ForwardDrops++;
                    return;
                }
                job.Kind = ForwardJob.KindMinimumUnit;
                job.ImageId = m.ImageId;
                job.Index = idx;
                job.NoticeKind = p.IsOriginal ? ReceiptNotice.KindOriginal : ReceiptNotice.KindRelay;
                job.ReceivedAtMs = _clock.NowMs;
                job.ExcludeNode = p.SenderNode;
                job.TargetCount = 0;
                job.RelayCount = relays;
                _queue.Commit();
            }
        }

        private void HandleRepairRequest(byte[] buffer, int offset, int count)
        {
            lock (_gate)
            {
                if (_stopped) return;
                RepairRequest r = _repairRx;
                r.Parse(buffer, offset, count);
                if (IsQuarantined(0, r.NodeId))
                {
                    Counters.QuarantinedDrops++;
                    return;
                }
                Manifest m = _manifest;
                if (m == null || r.ImageId != m.ImageId || r.ChunkCount != m.ChunkCount) return;
                int who = _members.IndexOf(r.NodeId);
                if (who < 0 || r.NodeId == _cfg.NodeId) return; // only members of this group are served
                int budget = r.MaxReplies;
                int room = _queue.Capacity - _queue.Count - 8; // keep room for minimum units
                if (budget > room) budget = room;
                for (int i = 0; i < m.ChunkCount && budget > 0; i++)
                {
                    if (!r.IsMissing(i) || !_held.Get(i)) continue;
                    ForwardJob job = _queue.Reserve();
                    if (job == null) break;
                    job.Kind = ForwardJob.KindRepairReply;
                    job.ImageId = m.ImageId;
                    job.Index = i;
                    job.ExcludeNode = 0;
                    job.TargetCount = 1;
                    job.TargetNode[0] = r.NodeId;
                    job.TargetIp[0] = _members.IpAt(who);
                    job.TargetPort[0] = _members.PortAt(who);
                    _queue.Commit();
                    budget--;
                }
            }
        }

        private void StrikePeer(uint sender, uint connection)
        {
            Strike(0, sender);
            if (connection != 0) Strike(1, connection);
        }

        /// <summary>One bad packet from this sender/connection (under the lock). A full table evicts the entry with
        /// the fewest strikes that is not quarantined; quarantined entries stay.</summary>
        private void Strike(byte kind, uint id)
        {
            int at = -1;
            for (int i = 0; i < _qUsed; i++)
            {
                if (_qKind[i] == kind && _qId[i] == id) { at = i; break; }
            }
            if (at < 0)
            {
                if (_qUsed < QuarantineSlots)
                {
                    at = _qUsed++;
                }
                else
                {
                    int fewest = int.MaxValue;
                    for (int i = 0; i < QuarantineSlots; i++)
                    {
                        if (_qStrikes[i] < _cfg.QuarantineStrikes && _qStrikes[i] < fewest) { fewest = _qStrikes[i]; at = i; }
                    }
                    if (at < 0) return; // every entry is quarantined already
                }
                _qKind[at] = kind;
                _qId[at] = id;
                _qStrikes[at] = 0;
            }
            _qStrikes[at]++;
            if (_qStrikes[at] == _cfg.QuarantineStrikes)
            {
                Counters.PeersQuarantined++;
                Log("quarantined " + (kind == 0 ? "sender " : "connection ") + id + " after " + _qStrikes[at] + " bad packets");
            }
        }

        private bool IsQuarantined(byte kind, uint id)
        {
            for (int i = 0; i < _qUsed; i++)
            {
                if (_qKind[i] == kind && _qId[i] == id) return _qStrikes[i] >= _cfg.QuarantineStrikes;
            }
            return false;
        }

        /// <summary>True when packets from this peer node are no longer accepted (it sent bad packets repeatedly).</summary>
        public bool IsPeerQuarantined(uint nodeId)
        {
            lock (_gate) { return IsQuarantined(0, nodeId); }
        }

        /// <summary>True when packets that come on this peer connection are no longer accepted.</summary>
        public bool IsConnectionQuarantined(uint connection)
        {
            lock (_gate) { return IsQuarantined(1, connection); }
        }

        /// <summary>The running image is on trial and its self-test failed: restart, and the bootloader logic in
        /// Start brings the previous image back (and reports RolledBack).</summary>
        public void SelfTestFailed(string why)
        {
            bool restart = false;
            lock (_gate)
            {
                if (_stopped || _bootRec.State != BootState.Trial) return;
                restart = AbandonTrial("self-test failed: " + why);
            }
            if (restart) _restart.RequestRestart();
        }

        private bool AbandonTrial(string why)
        {
            Counters.TrialsAbandoned++;
            _stopped = true;
            Log("image " + _bootRec.Version.ToString() + " on trial abandoned (" + why + "); restarting into the previous image");
            return true;
        }

        /// <summary>Does one piece of forwarding work (or the install when everything is held and forwarded).
        /// Relay copies to other groups go first: a member job in progress yields to them between two copies, so a
        /// relay device never waits behind this device's own group. Returns false when there was nothing to do.</summary>
        public bool PumpOnce()
        {
            bool relay = false;
            int msgLen;
            lock (_gate)
            {
                if (_stopped) return false;
                Manifest m = _manifest;
                if (_relayQueue.TryDequeue(_relayWork))
                {
                    if (m == null || _relayWork.ImageId != m.ImageId || !_held.Get(_relayWork.Index)) return true;
                    LoadTx(m, _relayWork.Index, DataPacket.FlagRelay);
                    relay = true;
                }
                else
                {
                    if (!_workActive)
                    {
                        if (!_queue.TryDequeue(_work))
                        {
                            if (_installRequested)
                            {
                                _installRequested = false;
                                return Install();
                            }
                            return false;
                        }
                        if (m == null || _work.ImageId != m.ImageId || !_held.Get(_work.Index)) return true;
                        StartWork();
                    }
                    if (m == null || _work.ImageId != m.ImageId)
                    {
                        _workActive = false; // a new image replaced the one this job was for
                        return true;
                    }
                    LoadTx(m, _work.Index, _work.Kind == ForwardJob.KindRepairReply ? DataPacket.FlagRepair : (byte)0);
                }
                msgLen = _txLen;
            }

            if (relay)
            {
                int ok = 0, bad = 0;
                for (int i = 0; i < _relayWork.TargetCount; i++)
                {
                    if (_relayWork.TargetNode[i] == _cfg.NodeId) continue;
                    if (_peer.Send(_relayWork.TargetIp[i], _relayWork.TargetPort[i], _txBuf, 0, msgLen)) ok++;
                    else bad++;
                }
                lock (_gate)
                {
                    Counters.CopiesSent += ok;
                    Counters.CopiesFailed += bad;
                    Counters.PeerPayloadBytesSent += (long)ok * _txPayloadLen;
                    // The packet's member job (queued behind) reports the relay copies that were delivered.
                    ForwardJob member = _queue.Find(_relayWork.ImageId, _relayWork.Index, ForwardJob.KindMinimumUnit);
                    if (member != null) member.RelayCount = ok;
                }
                return true;
            }

            while (_workNext < _workTargets)
            {
                int i = _workNext++;
                if (_peer.Send(_sendIp[i], _sendPort[i], _txBuf, 0, msgLen)) _workSent++;
                else _workFailed++;
                if (_workNext < _workTargets && _relayQueue.Count > 0)
                {
                    FlushWorkCounters();
                    return true; // let the relay go first; this job resumes on the next call
                }
            }
            _workActive = false;
            bool notice = _work.Kind == ForwardJob.KindMinimumUnit;
            if (notice)
            {
                _notice.NodeId = _cfg.NodeId;
                _notice.ImageId = _work.ImageId;
                _notice.Index = _work.Index;
                _notice.Kind = _work.NoticeKind;
                _notice.ReceiveTimeMs = _work.ReceivedAtMs;
                _notice.ForwardedTimeMs = _clock.NowMs;
                _notice.CopiesSent = _workSentTotal + _workSent + _work.RelayCount;
                int n = _notice.Encode(_noticeBuf, 0);
                _mqtt.Publish(_topicOut, _noticeBuf, 0, n, false);
            }
            lock (_gate)
            {
                if (notice) Counters.NoticesSent++;
                else Counters.RepairRepliesSent += _workSentTotal + _workSent;
            }
            FlushWorkCounters();
            return true;
        }

        /// <summary>Takes the destinations of the job in _work (under the lock).</summary>
        private void StartWork()
        {
            int n = 0;
            if (_work.Kind == ForwardJob.KindMinimumUnit)
            {
                for (int i = 0; i < _members.Count; i++)
                {
                    uint node = _members.NodeAt(i);
                    if (node == _cfg.NodeId || node == _work.ExcludeNode) continue;
                    _sendNode[n] = node;
                    _sendIp[n] = _members.IpAt(i);
                    _sendPort[n] = _members.PortAt(i);
                    n++;
                }
            }
            else
            {
                _sendNode[0] = _work.TargetNode[0];
                _sendIp[0] = _work.TargetIp[0];
                _sendPort[0] = _work.TargetPort[0];
                n = 1;
            }
            _workTargets = n;
            _workNext = 0;
            _workSent = 0;
            _workFailed = 0;
            _workSentTotal = 0;
            _workActive = true;
        }

        private void FlushWorkCounters()
        {
            lock (_gate)
            {
                Counters.CopiesSent += _workSent;
                Counters.CopiesFailed += _workFailed;
                Counters.PeerPayloadBytesSent += (long)_workSent * _txPayloadLen;
            }
            _workSentTotal += _workSent;
            _workSent = 0;
            _workFailed = 0;
        }

        /// <summary>Puts packet index as a Copy with these flags into the send buffer, reading the chunk from flash
        /// only when the buffer holds another packet (under the lock).</summary>
        private void LoadTx(Manifest m, int index, byte flags)
        {
            if (_txImage == m.ImageId && _txIndex == index && _txLen > 0)
            {
                _txBuf[DataPacket.FlagsOffset] = flags;
                return;
            }
            int chunkLen = m.ChunkLength(index);
            _txWriter.Reset(_txBuf, 0, _txBuf.Length);
            int at = DataPacket.WriteHeader(_txWriter, MessageType.Copy, m.ImageId, index, flags, _cfg.NodeId, 0, null, null, null, chunkLen);
            int staged = _staging == null ? -1 : _staging.Find(index);
            if (staged >= 0) _staging.Read(staged, _txBuf, at, chunkLen);
            else _imageSlot.Read(m.ChunkOffset(index), _txBuf, at, chunkLen);
            _txLen = _txWriter.Length;
            _txPayloadLen = chunkLen;
            _txImage = m.ImageId;
            _txIndex = index;
        }

        /// <summary>Verifies the whole image in the inactive slot, then switches the boot slot and restarts.</summary>
        private bool Install()
        {
            bool restart = false;
            lock (_gate)
            {
                Manifest m = _manifest;
                if (m == null || _held == null || !_held.IsComplete || _stopped) return false;
                _state = DeviceState.Verifying;
                _txIndex = -1; // the send buffer is used to read the image back
                _txLen = 0;
                _hash.ImageHashBegin();
                int step = _txBuf.Length;
                for (uint pos = 0; pos < m.ImageSize; pos += (uint)step)
                {
                    int n = (int)(m.ImageSize - pos < (uint)step ? m.ImageSize - pos : (uint)step);
                    _imageSlot.Read((int)pos, _txBuf, 0, n);
                    _hash.ImageHashAppend(_txBuf, 0, n);
                }
                _hash.ImageHashFinish(_imageHash, 0);
                for (int i = 0; i < Manifest.HashLength; i++)
                {
                    if (_imageHash[i] != m.ImageHash[i])
                    {
                        Counters.ImageVerifyFailures++;
                        _state = DeviceState.Failed;
                        _progressNow = true;
                        Log("whole-image hash does not match the manifest; not installed");
                        return true;
                    }
                }
                if (!_sink.Complete())
                {
                    Counters.ImageVerifyFailures++;
                    _state = DeviceState.Failed;
                    _progressNow = true;
                    Log("the image sink refused to complete the image; not installed");
                    return true;
                }
                _state = DeviceState.Installing;
                BootRecord r = _bootRec.Clone();
                r.PreviousVersion = r.Version;
                r.PreviousImageId = r.ImageId;
                r.ActiveSlot = 1 - r.ActiveSlot;
                r.Version = m.Version;
                r.ImageId = m.ImageId;
                r.State = BootState.Pending;
                _boot.Save(r);
                _bootRec = r;
                Counters.Installs++;
                _stopped = true;
                restart = true;
                Log("image " + m.Version.ToString() + " verified and installed in slot " + r.ActiveSlot + "; restarting");
            }
            if (restart) _restart.RequestRestart();
            return true;
        }

        /// <summary>Periodic work: repair requests when packets stop arriving, and progress reports.</summary>
        public void Tick()
        {
            long now = _clock.NowMs;
            int repairTo = -1; // -1 none, 0 gateway, 1 peer
            uint peerIp = 0;
            int peerPort = 0;
            int repairLen = 0;
            bool abandon = false;
            lock (_gate)
            {
                if (_stopped) return;
                if (_bootRec.State == BootState.Trial && now - _bootedAtMs >= _cfg.TrialTimeoutMs)
                {
                    abandon = AbandonTrial("not confirmed within " + _cfg.TrialTimeoutMs + " ms");
                }
            }
            if (abandon)
            {
                _restart.RequestRestart();
                return;
            }
            lock (_gate)
            {
                if (_stopped) return;
                if (_state == DeviceState.Receiving && _held != null && !_held.IsComplete)
                {
                    long idle = _repairing ? _cfg.RepairRoundMs : _cfg.RepairIdleMs;
                    if (now - _lastNewPacketMs < idle)
                    {
                        if (!_repairing) _repairAttempt = 0;
                    }
                    else if (now - _lastRepairMs >= idle)
                    {
                        if (_repairing && _held.HeldCount <= _heldAtLastRepair) _repairAttempt++;
                        _repairing = true;
                        _lastRepairMs = now;
                        _heldAtLastRepair = _held.HeldCount;
                        RepairRequest rq = _repairTx;
                        rq.NodeId = _cfg.NodeId;
                        rq.ImageId = _manifest.ImageId;
                        rq.ChunkCount = _manifest.ChunkCount;
                        rq.MaxReplies = _cfg.MaxRepairReplies;
                        int missingAt = RepairRequest.FixedLength;
                        _held.WriteMissing(_repairBuf, missingAt);
                        rq.MissingBuffer = _repairBuf;
                        rq.MissingOffset = missingAt;
                        repairLen = rq.Encode(_repairBuf, 0);
                        int self = _members.IndexOf(_cfg.NodeId);
                        int peers = _members.Count - (self >= 0 ? 1 : 0);
                        int cycle = (peers < 3 ? peers : 3) + 1; // up to three peers, then the gateway
                        int j = -1;
                        if (_repairAttempt % cycle < cycle - 1)
                        {
                            // the next peer in turn that is not quarantined
                            for (int tries = 0; tries < peers && j < 0; tries++)
                            {
                                int k = (int)((_cfg.NodeId + (uint)_repairAttempt + (uint)tries) % (uint)peers);
                                int cand = self >= 0 && k >= self ? k + 1 : k;
                                if (!IsQuarantined(0, _members.NodeAt(cand))) j = cand;
                            }
                        }
                        if (j >= 0)
                        {
                            peerIp = _members.IpAt(j);
                            peerPort = _members.PortAt(j);
                            repairTo = 1;
                            Counters.RepairRequestsSent++;
                        }
                        else
                        {
                            repairTo = 0;
                            Counters.GatewayRepairRequests++;
                        }
                    }
                }
                else
                {
                    _repairing = false;
                }
            }
            if (repairTo == 1) _peer.Send(peerIp, peerPort, _repairBuf, 0, repairLen);
            else if (repairTo == 0) _mqtt.Publish(_topicOut, _repairBuf, 0, repairLen, false);
            PublishProgressIfDue(now);
        }

        private void PublishProgressIfDue(long now)
        {
            lock (_publishGate)
            {
                int n;
                lock (_gate)
                {
                    bool due = _progressNow || (_progressDirty && now - _lastProgressMs >= _cfg.ProgressIntervalMs);
                    if (!due) return;
                    _progressNow = false;
                    _progressDirty = false;
                    _lastProgressMs = now;
                    _progress.NodeId = _cfg.NodeId;
                    _progress.ImageId = _manifest == null ? 0 : _manifest.ImageId;
                    _progress.State = _state;
                    _progress.RunningVersion = _bootRec.Version;
                    _progress.ChunkCount = _held == null ? 0 : _held.Count;
                    _progress.HeldCount = _held == null ? 0 : _held.HeldCount;
                    _progress.BitmapBuffer = _held == null ? null : _held.Bytes;
                    _progress.BitmapOffset = 0;
                    n = _progress.Encode(_progressBuf, 0);
                }
                _mqtt.Publish(_topicOut, _progressBuf, 0, n, false);
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
