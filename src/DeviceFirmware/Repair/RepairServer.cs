using IotOta.DeviceFirmware.Agent;
using IotOta.DeviceFirmware.Copies;
using IotOta.DeviceFirmware.Receive;
using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Repair
{
    /// <summary>
    /// Answers repair requests from the members of this group: queues one repair reply per missing packet this
    /// device holds, up to the request's budget and the room the forward queue can spare (a reserve stays for
    /// minimum units). A donor order from the gateway (first network) with a target tail may name a device of another
    /// group by its peer endpoint: it is served at that endpoint, as relay copies in relay mode (the requester copies
    /// them on inside its group). A peer's request with a target tail is refused: only the gateway directs copies
    /// outside the group. Not thread-safe: the agent calls it under its lock.
    /// </summary>
    public sealed class RepairServer
    {
        private readonly RepairRequest _rx = new RepairRequest();
        private readonly ReceivePath _receive;
        private readonly Forwarder _forwarder;
        private readonly CopyPlanner _planner;
        private readonly MemberList _members;
        private readonly PeerQuarantine _quarantine;
        private readonly DeviceCounters _counters;

        public RepairServer(ReceivePath receive, Forwarder forwarder, CopyPlanner planner, MemberList members, PeerQuarantine quarantine,
            DeviceCounters counters)
        {
            _receive = receive;
            _forwarder = forwarder;
            _planner = planner;
            _members = members;
            _quarantine = quarantine;
            _counters = counters;
        }

        /// <summary>A repair request from a peer; returns how many replies were queued.</summary>
        public int Handle(byte[] buffer, int offset, int count)
        {
            return Handle(buffer, offset, count, false);
        }

        /// <summary>A repair request; <paramref name="ordered"/> when it is the gateway's donor order (it came on the
        /// first network). Returns how many replies were queued.</summary>
        public int Handle(byte[] buffer, int offset, int count, bool ordered)
        {
            RepairRequest r = _rx;
            r.Parse(buffer, offset, count);
            if (r.HasTarget && !ordered)
            {
                _counters.MessagesRejected++;
                return 0;
            }
            if (_quarantine.IsQuarantined(PeerQuarantine.Sender, r.NodeId))
            {
                _counters.QuarantinedDrops++;
                return 0;
            }
            Manifest m = _receive.Manifest;
            if (m == null || r.ImageId != m.ImageId || r.ChunkCount != m.ChunkCount) return 0;
            // only members of this group are served, unless the gateway names the requester's endpoint
            if (!r.HasTarget && !_planner.Serves(_members, r.NodeId)) return 0;
            byte flags = r.HasTarget && r.TargetMode == RepairRequest.ModeRelay ? DataPacket.FlagRelay : (byte)0;
            ForwardQueue queue = _forwarder.Queue;
            // A group mate's request is answered from spare upload only: while this device still has copies queued
            // (its own copy-tree work, which reaches the requester's subtree too) it declines, and the requester asks
            // the next peer, then the gateway. At N = 1,000 a device that stalled behind a deep copy tree asked for
            // everything on its way, busy peers queued up to 56 replies ahead of their tree work, their own subtrees
            // stalled and asked in turn: 90-200 × the image of duplicates on the second network, the rollout's tail
            // devices uploaded 440-750 KB against a median of 280 (demo, 256 KiB). The gateway's donor orders are
            // served as before: the gateway chose this device knowing what it holds.
            if (!ordered && queue.Count > 0)
            {
                _counters.RepairsDeclinedBusy++;
                return 0;
            }
            int budget = r.MaxReplies;
            // keep room for minimum units: a quarter of the queue, at most 8 (a fixed 8 left small boards' queues
            // of 8 or 16 jobs no room at all, so their peers never answered and every repair went to the gateway)
            int reserve = queue.Capacity / 4;
            if (reserve > 8) reserve = 8;
            int room = queue.Capacity - queue.Count - reserve;
            if (budget > room) budget = room;
            int queued = 0;
            for (int i = 0; i < m.ChunkCount && budget > 0; i++)
            {
                if (!r.IsMissing(i) || !_receive.Holds(i)) continue;
                ForwardJob job = queue.Reserve();
                if (job == null) break;
                job.Kind = ForwardJob.KindRepairReply;
                job.ImageId = m.ImageId;
                job.Index = i;
                job.ExcludeNode = 0;
                job.CopyFlags = flags;
                bool aimed = r.HasTarget ? _planner.OrderedReply(r.NodeId, r.TargetIp, r.TargetPort, job) : _planner.RepairReply(_members, r.NodeId, job);
                if (!aimed || !queue.Commit()) break; // an unreachable target, or no room left in the queue
                budget--;
                queued++;
            }
            return queued;
        }
    }
}
