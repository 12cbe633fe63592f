using IotOta.DeviceFirmware.Agent;
using IotOta.DeviceFirmware.Ports;
using IotOta.DeviceFirmware.Receive;
using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Copies
{
    /// <summary>
    /// Forwarding: queues the copies a held packet owes (destinations from the <see cref="CopyPlanner"/>) and sends
    /// them from the pump thread, each streamed from flash to the socket in pieces of <see cref="PieceLength"/> bytes
    /// (no buffer of a packet's size; each piece is read under the lock, and a copy whose packet was replaced meanwhile
    /// is abandoned, never sent torn): relay copies to other groups first,
    /// then copies to the group (a member job yields to a relay between two copies), then the receipt notice.
    /// Queueing (Forwarder.Queueing.cs) runs under the agent's lock (<c>gate</c>); <see cref="Prepare"/> too; <see cref="Send"/> runs on the
    /// pump thread outside it. Allocates nothing after construction.
    /// </summary>
    public sealed partial class Forwarder : IPeerMessage
    {
        /// <summary>Bytes of a copy read from flash and handed to the socket at a time (and of the install's read-back).</summary>
        public const int PieceLength = 512;

        /// <summary>Prepare: nothing queued.</summary>
        public const int Idle = 0;
        /// <summary>Prepare: a job was dropped (stale or not held); call again.</summary>
        public const int Skipped = 1;
        /// <summary>Prepare: a relay copy is in the send buffer.</summary>
        public const int RelayReady = 2;
        /// <summary>Prepare: a member (or repair) copy is in the send buffer.</summary>
        public const int MembersReady = 3;

        /// <summary>Relay targets the relay queue holds per job on average (a job names one per other group it
        /// copies to: one or two in practice, up to DataPacket.MaxTargets).</summary>
        public const int RelayTargetsPerJob = 2;

        private readonly object _gate;
        private readonly uint _self;
        private readonly CopyPlanner _planner;
        private readonly MemberList _members;
        private readonly RelayTreeTable _trees;
        private readonly ReceivePath _rx;
        private readonly RootAssembly _roots;
        private readonly IPeerPort _peer;
        private readonly IMqttPort _mqtt;
        private readonly IClock _clock;
        private readonly DeviceCounters _counters;
        private readonly string _topicOut;
        private readonly ForwardQueue _queue;
        private readonly ForwardJob _work = new ForwardJob(1);
        private readonly ForwardQueue _relayQueue;
        private readonly ForwardJob _relayWork = new ForwardJob();
        // Protocol v2 (issue #15): receipt notices in batches.
        private readonly NoticeBatcher _notices;
        // This device's children in the copy tree for the job in progress: at most what its socket budget leaves
        // besides the connection in from its parent (CopyPlanner.TreeCopies clamps a larger fan-out to it).
        private readonly uint[] _treeNode;
        private readonly uint[] _treeIp;
        private readonly int[] _treePort;
        private readonly int[] _treeSpan;
        private int _treeCount;
        private int _spanNow;
        private readonly byte[] _txHead = new byte[DataPacket.EncodedLength(0, 0) + DataPacket.SpanLength];
        private readonly WireWriter _txWriter;
        private readonly byte[] _piece = new byte[PieceLength];
        private int _txHeadLen;
        // The member (or repair) job in progress; only the pump thread touches these.
        private bool _workActive;
        private int _workCursor;
        private int _workSent;
        private int _workFailed;
        private int _workSentTotal;
        // When this job's work began (its packet's receive time, or the end of the job before it when that came later),
        // and when the last member job ended: the notice's "receive" time, so that the gateway's busy time for a job
        // leaves out the wait behind jobs that send no notice (leaf relays, copy-tree spans).
        private long _workFromMs;
        private long _lastJobEndMs;
        // The job's copies go down the group's copy tree (FlagSpan, a span per destination).
        private bool _workSpan;
        // The copy being sent: its header (in _txHead) and which packet follows it.
        private uint _txImage;
        private bool _txPiece;
        private bool _txRoot;
        private bool _txTable;
        private uint _txTableEpoch;
        private int _txIndex = -1;
        private int _txLen;
        private int _txPayloadLen;
        private bool _txSpan;

        private readonly int _quietRelayMaxMs;

        public Forwarder(DeviceConfig cfg, object gate, CopyPlanner planner, MemberList members, RelayTreeTable trees, ReceivePath rx,
            RootAssembly roots, IPeerPort peer, IMqttPort mqtt, string topicOut, IClock clock, DeviceCounters counters)
        {
            _roots = roots;
            int children = TreeChildCapacity(cfg.MaxPeerConnections);
            _treeNode = new uint[children];
            _treeIp = new uint[children];
            _treePort = new int[children];
            _treeSpan = new int[children];
            _gate = gate;
            _self = cfg.NodeId;
            _quietRelayMaxMs = cfg.QuietRelayMaxMs;
            _planner = planner;
            _members = members;
            _trees = trees;
            _rx = rx;
            _peer = peer;
            _mqtt = mqtt;
            _clock = clock;
            _counters = counters;
            _topicOut = topicOut;
            _queue = new ForwardQueue(cfg.ForwardQueueCapacity, 1); // member copies (destinations taken when sent) and repair replies (1)
            _notices = new NoticeBatcher(cfg, mqtt, topicOut, clock);
            // relay copies: up to DataPacket.MaxTargets per job, RelayTargetsPerJob on average over a full queue
            _relayQueue = new ForwardQueue(cfg.ForwardQueueCapacity, DataPacket.MaxTargets, cfg.ForwardQueueCapacity * RelayTargetsPerJob);
            _txWriter = new WireWriter(_txHead);
        }

        /// <summary>The queue of member copies and repair replies.</summary>
        /// <summary>Copy-tree children a device with this socket budget keeps room for: one connection in from its
        /// parent, the rest out (at least 1, at most MemberListUpdate.MaxFanout; 0 = unlimited budget: the protocol's
        /// largest fan-out).</summary>
        public static int TreeChildCapacity(int maxPeerConnections)
        {
            if (maxPeerConnections <= 0 || maxPeerConnections - 1 > MemberListUpdate.MaxFanout) return MemberListUpdate.MaxFanout;
            return maxPeerConnections - 1 < 1 ? 1 : maxPeerConnections - 1;
        }

        public ForwardQueue Queue { get { return _queue; } }

        /// <summary>A new image: every queued job is dropped (under the lock).</summary>
        public void Clear()
        {
            _queue.Clear();
            _relayQueue.Clear();
            _workActive = false;
            _owedPieces = 0;
        }

        /// <summary>The piece buffer, for reading the image back at the install (on the pump thread, under the lock,
        /// never while a copy is being sent: the pump does one or the other).</summary>
        public byte[] BorrowBuffer()
        {
            return _piece;
        }

        /// <summary>Takes the next piece of work and loads its packet into the send buffer (under the lock): Idle,
        /// Skipped, RelayReady or MembersReady. Relay copies go first.</summary>
        public int Prepare()
        {
            Manifest m = _rx.Manifest;
            if (_trees.OwedCount > 0 || _owedPieces != 0) DrainOwed();
            if (_relayQueue.TryDequeue(_relayWork))
            {
                if (m == null || _relayWork.ImageId != m.ImageId || !Holds(_relayWork)) return Skipped;
                LoadTx(m, _relayWork.Index, _relayWork.CopyFlags);
                return RelayReady;
            }
            if (!_workActive)
            {
                if (!_queue.TryDequeue(_work)) return Idle;
                // the group's relay-tree table goes on whatever image this device works on (it is the table's own)
                if (!_work.IsTable && (m == null || _work.ImageId != m.ImageId) || !Holds(_work)) return Skipped;
                StartWork();
            }
            if (!_work.IsTable && (m == null || _work.ImageId != m.ImageId))
            {
                _workActive = false; // a new image replaced the one this job was for
                return Skipped;
            }
            if (_work.Kind == ForwardJob.KindRootUnit) LoadRoot(m);
            else LoadTx(m, _work.Index, _work.Kind == ForwardJob.KindRepairReply ? (byte)(DataPacket.FlagRepair | _work.CopyFlags) : (byte)((_workSpan ? DataPacket.FlagSpan : 0) | WorkFlags(_work.Kind)));
            return MembersReady;
        }

        /// <summary>Sends what <see cref="Prepare"/> loaded (RelayReady or MembersReady), on the pump thread outside the lock.</summary>
        public void Send(int prepared)
        {
            int msgLen = _txLen;
            if (prepared == RelayReady)
            {
                int ok = 0, bad = 0;
                bool relayRootAhead = _relayWork.IsPiece;
                for (int i = 0; i < _relayWork.TargetCount; i++)
                {
                    // A hash piece's relay gets the signed root just before the piece, back to back on one connection:
                    // it cannot check the piece without it. Sent as a separate job to all relays first, the root went on
                    // a connection the socket budget then closed, the piece on a new one, and the relay read the piece
                    // first and dropped it; its whole group waited for the list ~6 s (demo, 100 devices in 10 groups).
                    if (relayRootAhead) SendRootAhead(_relayWork.TargetIp[i], _relayWork.TargetPort[i]);
                    if (_peer.SendPieces(_relayWork.TargetIp[i], _relayWork.TargetPort[i], this, msgLen, _piece)) ok++;
                    else bad++;
                }
                lock (_gate)
                {
                    _counters.CopiesSent += ok;
                    _counters.CopiesFailed += bad;
                    _counters.PeerPayloadBytesSent += (long)ok * _txPayloadLen;
                    // The packet's member job (queued behind) reports the relay copies that were delivered.
                    if (!_relayWork.IsPiece) _queue.SetRelayCount(_relayWork.ImageId, _relayWork.Index, ForwardJob.KindMinimumUnit, ok);
                }
                return;
            }
            uint ip;
            int port;
            // A hash piece passed on to members (a full mesh, or down the copy tree) goes with the signed root just
            // before it on the same connection too, as to the relays.
            bool rootAhead = _work.Kind == ForwardJob.KindPieceUnit || _work.Kind == ForwardJob.KindPieceSpan;
            while (NextTarget(out ip, out port))
            {
                if (_workSpan)
                {
                    // the span this child passes on, patched into the header per destination
                    _txHead[DataPacket.SpanOffset] = (byte)_spanNow;
                    _txHead[DataPacket.SpanOffset + 1] = (byte)(_spanNow >> 8);
                }
                if (rootAhead) SendRootAhead(ip, port);
                if (_peer.SendPieces(ip, port, this, msgLen, _piece)) _workSent++;
                else _workFailed++;
                if (_relayQueue.Count > 0)
                {
                    FlushWorkCounters();
                    return; // let the relay go first; this job resumes on the next call
                }
            }
            _workActive = false;
            _lastJobEndMs = _clock.NowMs;
            byte kind = _work.NoticeKind;
            if (kind == ForwardJob.NoticeIfLate) kind = _lastJobEndMs - _work.ReceivedAtMs > _quietRelayMaxMs ? ReceiptNotice.KindRelay : ForwardJob.NoticeNone;
            bool notice = _work.Kind == ForwardJob.KindMinimumUnit && kind != ForwardJob.NoticeNone;
            if (notice) _notices.Add(_work.ImageId, _work.Index, kind, _workFromMs, _workSentTotal + _workSent + _work.RelayCount);
            lock (_gate)
            {
                if (notice) _counters.NoticesSent++;
                else if (_work.Kind == ForwardJob.KindRepairReply || _work.Kind == ForwardJob.KindPieceReply || _work.Kind == ForwardJob.KindTableReply) _counters.RepairRepliesSent += _workSentTotal + _workSent;
            }
            FlushWorkCounters();
        }

        /// <summary>Sends the batched receipt notices: all of them when <paramref name="now"/>, else once the oldest waited
        /// long enough (<see cref="NoticeBatcher"/>). Pump and tick call it.</summary>
        public void FlushNotices(bool now)
        {
            _notices.Flush(now);
        }

        /// <summary>Starts the job in _work (under the lock); its destinations are taken one at a time as it is sent.</summary>
        private void StartWork()
        {
            _workFromMs = _work.ReceivedAtMs > _lastJobEndMs ? _work.ReceivedAtMs : _lastJobEndMs;
            _workCursor = 0;
            _workSpan = false;
            _treeCount = 0;
            if (_work.Kind == ForwardJob.KindSpanCopy || _work.Kind == ForwardJob.KindPieceSpan || _work.Kind == ForwardJob.KindTableSpan)
            {
                _treeCount = _planner.TreeCopies(_members, _work.Span, _treeNode, _treeIp, _treePort, _treeSpan);
                _workSpan = true;
            }
            else if (_work.Kind == ForwardJob.KindMinimumUnit && _planner.UsesTree(_members))
            {
                // the root of this chunk's copy tree: the whole group after it
                _treeCount = _planner.TreeCopies(_members, _members.Count - 1, _treeNode, _treeIp, _treePort, _treeSpan);
                _workSpan = true;
            }
            _workSent = 0;
            _workFailed = 0;
            _workSentTotal = 0;
            _workActive = true;
        }

        /// <summary>Sends the stored signed root to one peer between two sends of the copy loaded in the send buffer
        /// (pump thread), and loads that copy back.</summary>
        private void SendRootAhead(uint ip, int port)
        {
            int headLen = _txHeadLen, len = _txLen, payloadLen = _txPayloadLen, index = _txIndex;
            bool piece = _txPiece;
            _txHeadLen = 0;
            _txLen = ImageRoot.EncodedLength;
            _txPayloadLen = 0;
            _txIndex = -1;
            _txPiece = false;
            _txRoot = true;
            _peer.SendPieces(ip, port, this, _txLen, _piece);
            _txHeadLen = headLen;
            _txLen = len;
            _txPayloadLen = payloadLen;
            _txIndex = index;
            _txPiece = piece;
            _txRoot = false;
        }

        /// <summary>The next destination of the job in _work (pump thread): a repair reply's one peer, or the next
        /// member the planner names (read from the member list under the lock). False when the job has none left.</summary>
        private bool NextTarget(out uint ip, out int port)
        {
            if (_workSpan)
            {
                // down the copy tree: this device's children, each with the span it passes on
                bool more = _workCursor < _treeCount;
                ip = more ? _treeIp[_workCursor] : 0;
                port = more ? _treePort[_workCursor] : 0;
                _spanNow = more ? _treeSpan[_workCursor] : 0;
                if (more) _workCursor++;
                return more;
            }
            if (_work.Kind != ForwardJob.KindMinimumUnit && _work.Kind != ForwardJob.KindPieceUnit && _work.Kind != ForwardJob.KindRootUnit && _work.Kind != ForwardJob.KindTableUnit)
            {
                bool first = _workCursor == 0;
                _workCursor = 1;
                ip = _work.TargetIp[0];
                port = _work.TargetPort[0];
                return first && _work.TargetCount > 0;
            }
            uint node;
            lock (_gate)
            {
                return _planner.NextGroupCopy(_members, _work.Index, _work.ExcludeNode, ref _workCursor, out node, out ip, out port);
            }
        }

        private void FlushWorkCounters()
        {
            lock (_gate)
            {
                _counters.CopiesSent += _workSent;
                _counters.CopiesFailed += _workFailed;
                _counters.PeerPayloadBytesSent += (long)_workSent * _txPayloadLen;
            }
            _workSentTotal += _workSent;
            _workSent = 0;
            _workFailed = 0;
        }

        /// <summary>Makes packet index (a chunk, or with FlagHashPiece a hash-list piece), as a Copy with these flags,
        /// the copy to send: writes its header (under the lock). Its payload is read from flash piece by piece while it
        /// is sent (<see cref="ReadPiece"/>).</summary>
        private void LoadTx(Manifest m, int index, byte flags)
        {
            bool piece = (flags & DataPacket.FlagHashPiece) != 0;
            bool span = (flags & DataPacket.FlagSpan) != 0;
            bool table = (flags & DataPacket.FlagTable) != 0;
            uint imageId = table ? _trees.ImageId : m.ImageId;
            // a table is never taken from the cache: another table (a new epoch) has the same image and index 0
            if (!table && _txImage == imageId && _txIndex == index && _txPiece == piece && !_txTable && !_txRoot && _txLen > 0 && _txSpan == span)
            {
                _txHead[DataPacket.FlagsOffset] = flags;
                return;
            }
            int len = table ? _trees.StoredLength : piece ? _roots.PieceLength(index) : m.ChunkLength(index);
            _txWriter.Reset(_txHead, 0, _txHead.Length);
            // with FlagSpan the span field (patched per destination) sits between the sender and the payload length
            _txHeadLen = DataPacket.WriteHeaderOnly(_txWriter, MessageType.Copy, imageId, index, flags, _self, 0, null, null, null, len, 0);
            _txSpan = span;
            _txLen = _txHeadLen + len;
            _txPayloadLen = len;
            _txImage = imageId;
            _txIndex = index;
            _txPiece = piece;
            _txTable = table;
            _txTableEpoch = table ? _trees.Epoch : 0;
            _txRoot = false;
        }

        /// <summary>The port asks for count bytes of the copy being sent from byte at (pump thread): the header from
        /// RAM, the payload from flash (staging or the slot, wherever the packet is now), read under the lock after
        /// checking that the packet is still this image's and held; false when it is not (a new image replaced it).</summary>
        public bool ReadPiece(int at, byte[] buffer, int offset, int count)
        {
            if (at < 0 || count < 0 || at + count > _txLen) return false;
            while (count > 0 && at < _txHeadLen)
            {
                buffer[offset++] = _txHead[at++];
                count--;
            }
            if (count == 0) return true;
            lock (_gate)
            {
                Manifest m = _rx.Manifest;
                // a table replaced while its copy is on the wire: the copy is abandoned, not finished with other bytes
                bool held = _txRoot || (_txTable ? _trees.MatchesDigest && _trees.ImageId == _txImage && _trees.Epoch == _txTableEpoch && _trees.StoredLength == _txPayloadLen : _txPiece ? _roots.HoldsPiece(_txIndex) : _rx.Holds(_txIndex));
                if (!_txTable && (m == null || m.ImageId != _txImage) || !held)
                {
                    _counters.CopiesAbandoned++;
                    return false;
                }
                if (_txRoot) _rx.Store.ReadManifestPart(at, buffer, offset, count);
                else if (_txTable) _trees.ReadStored(at - _txHeadLen, buffer, offset, count);
                else if (_txPiece) _roots.ReadPiecePart(_txIndex, at - _txHeadLen, buffer, offset, count);
                else _rx.ReadChunkPart(_txIndex, at - _txHeadLen, buffer, offset, count);
            }
            return true;
        }
    }
}
