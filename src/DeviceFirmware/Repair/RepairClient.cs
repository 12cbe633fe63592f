using IotOta.DeviceFirmware.Agent;
using IotOta.DeviceFirmware.Copies;
using IotOta.DeviceFirmware.Receive;
using IotOta.Shared.Chunking;
using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Repair
{
    /// <summary>
    /// Asks for the packets still missing once they stop arriving: a repair request to up to three peers of the group
    /// in turn (none that is quarantined), then the gateway, round after round while replies bring nothing new.
    /// The gateway is asked only after that many peer rounds in a row brought nothing (a round that brought a packet
    /// starts the peers over), and each gateway ask that brings nothing doubles the round (up to 8 ×) until a packet
    /// comes: at N = 1,000 packets still queued in the group's copy trees reach a device seconds apart, and the gateway,
    /// which does not repair what is still on its way, was asked again every round (16 KB of requests at the broker
    /// in one run). <see cref="Due"/> runs under the agent's lock and encodes the request; the agent sends it outside
    /// the lock.
    /// </summary>
    public sealed class RepairClient
    {
        /// <summary>Due: nothing to ask now.</summary>
        public const int None = 0;
        /// <summary>Due: publish the request to the gateway.</summary>
        public const int ToGateway = 1;
        /// <summary>Due: send the request to the peer at PeerIp:PeerPort.</summary>
        public const int ToPeer = 2;

        private readonly DeviceConfig _cfg;
        private readonly MemberList _members;
        private readonly PeerQuarantine _quarantine;
        private readonly DeviceCounters _counters;
        private readonly RepairRequest _tx = new RepairRequest();
        private byte[] _buf = new byte[RepairRequest.FixedLength];
        private bool _repairing;
        private int _attempt;
        private int _peerAsks;    // peers asked since the gateway was last asked or a packet last came
        private int _gatewayAsks; // gateway asks since a packet last came: the round is RepairRoundMs << min(this, 3)
        private const int MaxBackoffShift = 3;
        private int _budget;      // replies the next request asks for: FirstRepairReplies, doubled after one answered in full
        private int _heldAtLast;
        private long _lastRepairMs;

        public RepairClient(DeviceConfig cfg, MemberList members, PeerQuarantine quarantine, DeviceCounters counters)
        {
            _cfg = cfg;
            _members = members;
            _quarantine = quarantine;
            _counters = counters;
            _budget = FirstBudget;
        }

        /// <summary>The encoded request (Length bytes) after a Due that returned ToGateway or ToPeer.</summary>
        public byte[] Buffer { get { return _buf; } }
        public int Length { get; private set; }
        public uint PeerIp { get; private set; }
        public int PeerPort { get; private set; }

        /// <summary>A new image of chunkCount packets: the request buffer fits its bitmap; no repair in progress.</summary>
        public void Begin(int chunkCount)
        {
            int r = RepairRequest.EncodedLength(chunkCount);
            if (_buf.Length < r) _buf = new byte[r];
            _repairing = false;
            _attempt = 0;
            _peerAsks = 0;
            _gatewayAsks = 0;
            _budget = FirstBudget;
        }

        private int FirstBudget
        {
            get
            {
                int first = _cfg.FirstRepairReplies < _cfg.MaxRepairReplies ? _cfg.FirstRepairReplies : _cfg.MaxRepairReplies;
                return first < 1 ? 1 : first;
            }
        }

        private int MaxBudget
        {
            get { return _cfg.MaxRepairReplies > FirstBudget ? _cfg.MaxRepairReplies : FirstBudget; }
        }

        /// <summary>The update was resumed from flash after a restart (the device was offline): its first request goes
        /// to the gateway, which knows what every group mate holds and names a donor for each missing packet.</summary>
        public void Resumed()
        {
            _askGatewayFirst = true;
            // it missed what came while it was off: nothing of that is on its way
            _budget = MaxBudget;
        }

        private bool _askGatewayFirst;

        /// <summary>Nothing is being received: no repair in progress.</summary>
        public void Idle()
        {
            _repairing = false;
        }

        /// <summary>Called periodically while an image is incomplete: decides whether to ask now and whom.</summary>
        public int Due(long now, Manifest m, PacketBitmap held, long lastNewPacketMs)
        {
            long round = (long)_cfg.RepairRoundMs << (_gatewayAsks < MaxBackoffShift ? _gatewayAsks : MaxBackoffShift);
            long idle = _repairing ? round : _cfg.RepairIdleMs;
            if (now - lastNewPacketMs < idle)
            {
                if (!_repairing)
                {
                    _attempt = 0;
                    _peerAsks = 0;
                    _gatewayAsks = 0;
                    if (!_askGatewayFirst) _budget = FirstBudget;
                }
                else if (held.HeldCount > _heldAtLast) _gatewayAsks = 0; // packets come again: the next round is not backed off
                return None;
            }
            if (now - _lastRepairMs < idle) return None;
            if (_repairing)
            {
                if (held.HeldCount <= _heldAtLast) _attempt++; // nothing new: the next peer, or the gateway
                else
                {
                    _peerAsks = 0; // it came: peers first again, no back-off
                    _gatewayAsks = 0;
                }
                // Answered in full: there is more to fetch than what is on its way; ask for twice as many. Answered
                // by less than half, or not at all (a busy peer declined): back to the first size. (Keeping the size
                // after a declined request let it grow to 64 during the rollout's stalls: 2 of 3 N = 1,000 demos then
                // made 1,074-1,136 × the image of peer copies and took 42-43 s.)
                int got = held.HeldCount - _heldAtLast;
                if (got >= _budget) _budget = _budget * 2 < MaxBudget ? _budget * 2 : MaxBudget;
                else if (got < _budget / 2 && _budget > FirstBudget) _budget = FirstBudget;
            }
            _repairing = true;
            _lastRepairMs = now;
            _heldAtLast = held.HeldCount;
            RepairRequest rq = _tx;
            rq.NodeId = _cfg.NodeId;
            rq.ImageId = m.ImageId;
            rq.ChunkCount = m.ChunkCount;
            rq.MaxReplies = _budget;
            int missingAt = RepairRequest.FixedLength;
            held.WriteMissing(_buf, missingAt);
            rq.MissingBuffer = _buf;
            rq.MissingOffset = missingAt;
            Length = rq.Encode(_buf, 0);
            int j = _askGatewayFirst ? -1 : NextPeer();
            _askGatewayFirst = false;
            if (j >= 0)
            {
                PeerIp = _members.IpAt(j);
                PeerPort = _members.PortAt(j);
                _peerAsks++;
                _counters.RepairRequestsSent++;
                return ToPeer;
            }
            _peerAsks = 0;
            _gatewayAsks++;
            _counters.GatewayRepairRequests++;
            return ToGateway;
        }

        /// <summary>The member to ask this round, or -1 for the gateway: up to three peers in turn (the one that just brought
        /// something again), then the gateway.</summary>
        private int NextPeer()
        {
            int self = _members.IndexOf(_cfg.NodeId);
            int peers = _members.Count - (self >= 0 ? 1 : 0);
            if (_peerAsks >= (peers < 3 ? peers : 3)) return -1;
            // the next peer in turn that is not quarantined
            for (int tries = 0; tries < peers; tries++)
            {
                int k = (int)((_cfg.NodeId + (uint)_attempt + (uint)tries) % (uint)peers);
                int cand = self >= 0 && k >= self ? k + 1 : k;
                if (!_quarantine.IsQuarantined(PeerQuarantine.Sender, _members.NodeAt(cand))) return cand;
            }
            return -1;
        }
    }
}
