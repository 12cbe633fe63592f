using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Copies
{
    /// <summary>Protocol v2 (issue #15): the forwarder's jobs for hash-list pieces and the signed root — queued like a
    /// chunk's (relays first, then the group; a piece request answered like a repair), sent read back from flash.</summary>
    public sealed partial class Forwarder
    {
        /// <summary>Protocol v2: a hash-list piece came as a minimum unit (held now, in flash): queues its relay copies
        /// to the devices the original names, then its copies to the group, like a chunk's but without a notice
        /// (under the lock).</summary>
        public void QueuePiece(DataPacket p, int piece)
        {
            if (p.TargetCount > 0)
            {
                ForwardJob rj = _relayQueue.Reserve();
                if (rj == null) _counters.ForwardDrops++;
                else
                {
                    rj.Kind = ForwardJob.KindRelay;
                    rj.ImageId = p.ImageId;
                    rj.Index = piece;
                    rj.CopyFlags = (byte)(DataPacket.FlagRelay | DataPacket.FlagHashPiece);
                    _planner.NamedRelays(p, rj);
                    if (!_relayQueue.Commit()) _counters.ForwardDrops++;
                }
            }
            ForwardJob job = _queue.Reserve();
            if (job == null)
            {
                _counters.ForwardDrops++;
                return;
            }
            job.Kind = ForwardJob.KindPieceUnit;
            job.ImageId = p.ImageId;
            job.Index = piece;
            job.ExcludeNode = p.SenderNode;
            job.TargetCount = 0;
            job.RelayCount = 0;
            job.CopyFlags = 0;
            job.Span = 0;
            _queue.Commit();
        }

        /// <summary>Protocol v2: the signed root came from the gateway to this device alone (its group's seed): queues
        /// a job that passes it on, read back from flash, to every member but <paramref name="exclude"/> (under the lock).</summary>
        public void QueueRoot(uint imageId, uint exclude)
        {
            ForwardJob job = _queue.Reserve();
            if (job == null)
            {
                _counters.ForwardDrops++;
                return;
            }
            job.Kind = ForwardJob.KindRootUnit;
            job.ImageId = imageId;
            job.Index = 0;
            job.ExcludeNode = exclude;
            job.TargetCount = 0;
            job.RelayCount = 0;
            job.CopyFlags = 0;
            job.Span = 0;
            _queue.Commit();
        }

        /// <summary>Protocol v2: a member asked for piece <paramref name="piece"/> (held): one repair copy to it, read back
        /// from flash (under the lock). False when the queue has no room or the asker is no member.</summary>
        public bool QueuePieceReply(uint imageId, int piece, uint requester)
        {
            ForwardJob job = _queue.Reserve();
            if (job == null) return false;
            job.Kind = ForwardJob.KindPieceReply;
            job.ImageId = imageId;
            job.Index = piece;
            job.ExcludeNode = 0;
            job.CopyFlags = 0;
            job.Span = 0;
            if (!_planner.RepairReply(_members, requester, job)) return false;
            _queue.Commit();
            return true;
        }

        private bool Holds(ForwardJob j)
        {
            if (j.Kind == ForwardJob.KindRootUnit) return true; // its image is the one held (checked by the caller)
            return j.IsPiece ? _roots.HoldsPiece(j.Index) : _rx.Holds(j.Index);
        }

        private static byte WorkFlags(byte kind)
        {
            if (kind == ForwardJob.KindRepairReply) return DataPacket.FlagRepair;
            if (kind == ForwardJob.KindPieceUnit) return DataPacket.FlagHashPiece;
            if (kind == ForwardJob.KindPieceReply) return DataPacket.FlagHashPiece | DataPacket.FlagRepair;
            return 0;
        }

        /// <summary>Makes the stored ImageRoot (the first bytes of the update state's root form) the message to send:
        /// no header, its 160 bytes read from flash while it is sent.</summary>
        private void LoadRoot(Manifest m)
        {
            _txHeadLen = 0;
            _txLen = ImageRoot.EncodedLength;
            _txPayloadLen = 0;
            _txImage = m.ImageId;
            _txIndex = -1;
            _txRoot = true;
            _txPiece = false;
        }
    }
}
