using IotOta.DeviceFirmware.Receive;
using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Copies
{
    /// <summary>Forwarding, the queueing side (under the agent's lock): the jobs a held packet owes — relay copies to
    /// other groups (named, or down the relay tree, owed until the tree's table arrives), then the job that copies it
    /// to the group (or passes a tree copy on for its span) and sends the receipt notice.</summary>
    public sealed partial class Forwarder
    {
        /// <summary>A minimum unit arrived (held now): queues its relay copies to other groups, then the job that
        /// copies it to the group and sends the receipt notice (under the lock). A relay copy flagged
        /// <see cref="DataPacket.FlagSilentRelays"/> (its original said so) that goes to no other group sends none:
        /// its root's notice stands for it at the gateway, which saves the broker 8 of 9 notices at N = 100 (~55 KB
        /// for a 1 MiB image). With <see cref="DataPacket.FlagSilentTree"/> too, a tree relay that passes it on to its
        /// table's children is silent as well unless its forwarding ends late (<see cref="ForwardJob.NoticeIfLate"/>).
        /// An answer to a repair request (<see cref="DataPacket.FlagRepair"/>) notices, and so
        /// does the first minimum unit of an image: the gateway measures this device's forwarding rate from it even
        /// when the device never gets an original, and reckons its silent jobs by that rate.</summary>
        public void QueueMinimumUnit(DataPacket p, Manifest m, int idx)
        {
            bool quiet, interior;
            int relays = QueueRelays(p, m, idx, out quiet, out interior);
            ForwardJob job = ReserveMemberJob(ForwardJob.KindMinimumUnit, p, m, idx);
            if (job == null) return;
            bool first = _firstUnitImage != m.ImageId;
            _firstUnitImage = m.ImageId;
            bool silent = quiet && !first && (p.Flags & DataPacket.FlagSilentRelays) != 0 && (p.Flags & DataPacket.FlagRepair) == 0;
            job.NoticeKind = p.IsOriginal ? ReceiptNotice.KindOriginal
                : !silent ? ReceiptNotice.KindRelay : interior ? ForwardJob.NoticeIfLate : ForwardJob.NoticeNone;
            job.RelayCount = relays;
            _queue.Commit();
        }

        // The image whose first minimum unit this device queued (that one always notices).
        private uint _firstUnitImage;

        /// <summary>A copy down the group's copy tree arrived (held now): queues the job that passes it on to this
        /// device's children for the span it carries (under the lock). No notice: the root sends that.</summary>
        public void QueueSpanCopy(DataPacket p, Manifest m, int idx)
        {
            if (p.Span <= 0) return;
            ForwardJob job = ReserveMemberJob(ForwardJob.KindSpanCopy, p, m, idx);
            if (job == null) return;
            job.RelayCount = 0;
            job.Span = p.Span;
            _queue.Commit();
        }

        /// <summary>Reserves a job of the member queue for packet <paramref name="idx"/> that came from
        /// <paramref name="p"/>'s sender (not copied back to it), or counts a drop and returns null when the queue is full.</summary>
        private ForwardJob ReserveMemberJob(byte kind, DataPacket p, Manifest m, int idx)
        {
            ForwardJob job = _queue.Reserve();
            if (job == null)
            {
                _counters.ForwardDrops++;
                return null;
            }
            job.Kind = kind;
            job.ImageId = m.ImageId;
            job.Index = idx;
            job.ReceivedAtMs = _clock.NowMs;
            job.ExcludeNode = p.SenderNode;
            job.TargetCount = 0;
            return job;
        }

        /// <summary>Queues the packet's relay copies to other groups; <paramref name="quiet"/> is true when it goes to
        /// no other group at all (not even owed until a table comes), or down this group's relay tree by a table it
        /// holds while the copy asks the tree's interior relays for silence (<see cref="DataPacket.FlagSilentTree"/>).</summary>
        private int QueueRelays(DataPacket p, Manifest m, int idx, out bool quiet, out bool interior)
        {
            int kind = _planner.RelayFor(p, _trees, m.ImageId, idx);
            interior = kind == CopyPlanner.RelayTree && (p.Flags & DataPacket.FlagSilentTree) != 0;
            quiet = kind == CopyPlanner.RelayNone || interior;
            if (kind == CopyPlanner.RelayNone) return 0;
            if (kind == CopyPlanner.RelayOwed)
            {
                // Down a relay tree before this group's table arrived (it is retained, but travels on another path
                // than the copy): owe the relay copies and send them when the table comes (DrainOwed), so the child
                // groups still get the packet from the tree instead of asking the gateway.
                if (_trees.Owe(idx)) _counters.TreeRelaysOwed++;
                return 0;
            }
            byte silence = (byte)(p.Flags & (DataPacket.FlagSilentRelays | DataPacket.FlagSilentTree));
            if (kind == CopyPlanner.RelayTree) return QueueTreeRelay(m.ImageId, idx, silence);
            return QueueNamedRelays(p, m.ImageId, idx, (byte)(DataPacket.FlagRelay | (p.IsTree ? DataPacket.FlagTree : 0) | silence));
        }

        /// <summary>Queues one relay job to the devices the packet names (this device left out): packet (or with
        /// FlagHashPiece piece) <paramref name="index"/>, its copies flagged <paramref name="flags"/>. Returns how many
        /// devices it names; 0 when the relay queue had no room (counted as a forward drop).</summary>
        private int QueueNamedRelays(DataPacket p, uint imageId, int index, byte flags)
        {
            ForwardJob rj = _relayQueue.Reserve();
            if (rj == null)
            {
                _counters.ForwardDrops++;
                return 0;
            }
            rj.Kind = ForwardJob.KindRelay;
            rj.ImageId = imageId;
            rj.Index = index;
            rj.CopyFlags = flags;
            int n = _planner.NamedRelays(p, rj);
            if (!_relayQueue.Commit())
            {
                _counters.ForwardDrops++;
                return 0;
            }
            return n;
        }

        /// <summary>Queues the relay copies of packet idx to this group's tree children; <paramref name="silent"/>
        /// (FlagSilentRelays and FlagSilentTree, from the copy this device got) passes on, so the tree's leaves (and
        /// with FlagSilentTree its interior relays) send no notice.</summary>
        private int QueueTreeRelay(uint imageId, int idx, byte silent)
        {
            ForwardJob rj = _relayQueue.Reserve();
            if (rj == null)
            {
                _counters.ForwardDrops++;
                return 0;
            }
            rj.Kind = ForwardJob.KindRelay;
            rj.ImageId = imageId;
            rj.Index = idx;
            rj.CopyFlags = (byte)(DataPacket.FlagRelay | DataPacket.FlagTree | silent);
            int n = _planner.TreeRelays(_trees, idx, rj);
            if (!_relayQueue.Commit())
            {
                _counters.ForwardDrops++;
                return 0;
            }
            _counters.TreeRelays++;
            return n;
        }

        /// <summary>Once the table is held, queues the relay copies owed for tree relay copies that came before it
        /// (those of packets in this group's tree; the others need none), while the relay queue has room (under the lock).</summary>
        public void DrainOwed()
        {
            if (_owedPieces != 0) DrainOwedPieces();
            Manifest m = _rx.Manifest;
            if (_trees.OwedCount == 0 || m == null || !_trees.HasTable(m.ImageId)) return;
            for (int idx = 0; idx < m.ChunkCount && _trees.OwedCount > 0; idx++)
            {
                if (!_trees.IsOwed(idx)) continue;
                if (_trees.RelaysPacket(idx) && _rx.Holds(idx))
                {
                    if (_relayQueue.IsFull) return; // the rest on a later pump
                    QueueTreeRelay(m.ImageId, idx, 0); // its copy's flags are gone: the children notice
                }
                _trees.Settle(idx);
            }
        }
    }
}
