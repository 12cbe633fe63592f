using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Copies
{
    /// <summary>Protocol v2 (issue #15): the forwarder's jobs for hash-list pieces and the signed root — queued like a
    /// chunk's (relays first, then the group; a piece request answered like a repair), sent read back from flash.</summary>
    public sealed partial class Forwarder
    {
        /// <summary>Protocol v2: a hash-list piece came as a minimum unit (held now, in flash): queues its relay copies
        /// to the devices the original names, then its copies to the group, like a chunk's but without a notice
        /// (under the lock). Every receiver gets the signed root first, on the same connection: the relays, and the
        /// members (all of them in a full mesh; with a copy tree this device is the root of the piece's tree and its
        /// children get the root, then the piece with their span, and pass both on).</summary>
        public void QueuePiece(DataPacket p, int piece)
        {
            // The relays get the signed root just before the piece, on the same connection (Send): the gateway sends
            // the root to the original's receiver only.
            // Named relays (with FlagTree: the root's children in the piece's relay tree, whose copies go on down it),
            // or, for a relay copy down a relay tree, this group's tree children (owed until the table comes).
            if (p.TargetCount > 0) QueueNamedRelays(p, p.ImageId, piece, (byte)(DataPacket.FlagRelay | DataPacket.FlagHashPiece | (p.IsTree ? DataPacket.FlagTree : 0)));
            else if (p.IsRelay && p.IsTree) QueuePieceTreeRelay(p.ImageId, piece);
            if (_planner.UsesTree(_members))
            {
                QueuePieceSpan(piece, _members.Count - 1);
                return;
            }
            // A full mesh: every member gets the root just before the piece too (Send; a member that holds the root
            // already drops that copy at once).
            QueuePieceJob(ForwardJob.KindPieceUnit, p.ImageId, piece, p.SenderNode, 0);
        }

        /// <summary>Pieces (below 64) whose relay copies down a relay tree are owed: they came before the table.</summary>
        private ulong _owedPieces;

        /// <summary>Piece <paramref name="piece"/> came down a relay tree: queues its relay copies to this group's tree
        /// children for the piece's tree (piece mod T, candidate piece mod n, as for a packet), each with the signed root
        /// ahead (a relay job of a piece); owed when no table is held yet (under the lock).</summary>
        private void QueuePieceTreeRelay(uint imageId, int piece)
        {
            if (!_trees.HasTable(imageId))
            {
                if (piece < 64) _owedPieces |= 1UL << piece;
                return;
            }
            if (!_trees.RelaysPacket(piece)) return;
            ForwardJob rj = _relayQueue.Reserve();
            if (rj == null)
            {
                _counters.ForwardDrops++;
                return;
            }
            rj.Kind = ForwardJob.KindRelay;
            rj.ImageId = imageId;
            rj.Index = piece;
            rj.CopyFlags = (byte)(DataPacket.FlagRelay | DataPacket.FlagTree | DataPacket.FlagHashPiece);
            _planner.TreeRelays(_trees, piece, rj);
            if (!_relayQueue.Commit()) _counters.ForwardDrops++;
        }

        /// <summary>Once the table is held: the owed pieces' tree relay copies (under the lock).</summary>
        private void DrainOwedPieces()
        {
            if (_roots.Root == null || !_trees.HasTable(_roots.Root.ImageId)) return;
            for (int piece = 0; piece < 64 && _owedPieces != 0; piece++)
            {
                ulong bit = 1UL << piece;
                if ((_owedPieces & bit) == 0) continue;
                if (_relayQueue.IsFull) return; // the rest on a later pump
                _owedPieces &= ~bit;
                if (_roots.HoldsPiece(piece)) QueuePieceTreeRelay(_roots.Root.ImageId, piece);
            }
        }

        /// <summary>Protocol v2: this device must get piece <paramref name="piece"/> (held) to the next
        /// <paramref name="span"/> members after it down the group's copy tree: queues the piece with each child's span;
        /// each child gets the signed root just before it (Send: a child takes no piece before it holds the root; a
        /// duplicate root costs it nothing) (under the lock).</summary>
        public void QueuePieceSpan(int piece, int span)
        {
            if (span <= 0 || _roots.Root == null) return;
            QueuePieceJob(ForwardJob.KindPieceSpan, _roots.Root.ImageId, piece, 0, span);
        }

        private void QueuePieceJob(byte kind, uint imageId, int piece, uint exclude, int span)
        {
            ForwardJob job = _queue.Reserve();
            if (job == null)
            {
                _counters.ForwardDrops++;
                return;
            }
            job.Kind = kind;
            job.ImageId = imageId;
            job.Index = piece;
            job.ExcludeNode = exclude;
            job.TargetCount = 0;
            job.RelayCount = 0;
            job.CopyFlags = 0;
            job.Span = span;
            _queue.Commit();
        }

        /// <summary>Protocol v2: queues a job that passes the signed root on, read back from flash, to every member but
        /// <paramref name="exclude"/> (a seed in a full mesh) (under the lock).</summary>
        public void QueueRoot(uint imageId, uint exclude)
        {
            QueuePieceJob(ForwardJob.KindRootUnit, imageId, 0, exclude, 0);
        }

        /// <summary>Protocol v2: a member asked for piece <paramref name="piece"/> (held): one repair copy to it, read back
        /// from flash (under the lock). False when the queue has no room or the asker is no member.</summary>
        public bool QueuePieceReply(uint imageId, int piece, uint requester)
        {
            return QueueReply(ForwardJob.KindPieceReply, imageId, piece, requester);
        }

        /// <summary>One copy of a piece or the table to one member that asked (under the lock).</summary>
        private bool QueueReply(byte kind, uint imageId, int index, uint requester)
        {
            ForwardJob job = _queue.Reserve();
            if (job == null) return false;
            job.Kind = kind;
            job.ImageId = imageId;
            job.Index = index;
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
            if (j.IsTable) return _trees.MatchesDigest && _trees.ImageId == j.ImageId;
            return j.IsPiece ? _roots.HoldsPiece(j.Index) : _rx.Holds(j.Index);
        }

        private static byte WorkFlags(byte kind)
        {
            if (kind == ForwardJob.KindRepairReply) return DataPacket.FlagRepair;
            if (kind == ForwardJob.KindPieceUnit || kind == ForwardJob.KindPieceSpan) return DataPacket.FlagHashPiece;
            if (kind == ForwardJob.KindPieceReply) return DataPacket.FlagHashPiece | DataPacket.FlagRepair;
            if (kind == ForwardJob.KindTableUnit || kind == ForwardJob.KindTableSpan) return DataPacket.FlagTable;
            if (kind == ForwardJob.KindTableReply) return DataPacket.FlagTable | DataPacket.FlagRepair;
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
            _txTable = false;
        }
    }
}
