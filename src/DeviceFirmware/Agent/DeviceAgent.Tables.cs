using IotOta.DeviceFirmware.Copies;
using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Agent
{
    /// <summary>Protocol v2 (issue #15): a group's relay-tree table over the second network. The gateway sends every
    /// member the table's digest (retained, 32 B) and the table to one member; members pass it down the copy tree and
    /// take it only when it matches the digest. A device that holds the digest but not the table for
    /// <see cref="TableWaitMs"/> asks the gateway for it.</summary>
    public sealed partial class DeviceAgent
    {
        /// <summary>How long a device that got a digest waits for its table before it asks the gateway (then again every
        /// <see cref="TableAskMs"/> while it still misses it).</summary>
        public const int TableWaitMs = 3000;
        public const int TableAskMs = 5000;

        private long _digestAtMs = -1;
        /// <summary>The member whose copy of the table came before the digest (0: none), whether it was asked again, and
        /// the span that copy carried (passed on once the table is taken).</summary>
        private uint _tableFrom;
        private bool _tableFromAsked;
        private int _tableSpanOwed;
        /// <summary>The held table came from the gateway on this device's in-topic (it is its group's seed).</summary>
        private bool _tableFromGateway;
        /// <summary>Requests to the gateway for the current digest's table; at most <see cref="TableAsksMax"/>.</summary>
        private int _tableAsks;
        public const int TableAsksMax = 5;
        private long _tableAskedMs = -1;
        /// <summary>How this device passed the held table on (-1 not at all, 0 to the whole group as its seed, else the
        /// span down the copy tree): again after admitting an image, which clears the forwarder's queue.</summary>
        private int _tablePassSpan = -1;

        /// <summary>Under the lock: passes the held table on (span 0: to the whole group) at once, whatever image this
        /// device works on (the seed of a level-1 group often gets the signed root only with its first piece, and the
        /// group's piece relays wait for the table); remembered, because admitting an image clears the forwarder's
        /// queue (<see cref="PassOwedTable"/>).</summary>
        private void PassTable(int span)
        {
            _tablePassSpan = span;
            if (span == 0) _forwarder.QueueTable(_trees.ImageId);
            else _forwarder.QueueTableSpan(_trees.ImageId, span);
        }

        /// <summary>Under the lock, after an image was admitted (its forwarder queue cleared): the table goes on again
        /// (a member that got it already takes nothing and passes nothing on: RelayTreeTable.Same).</summary>
        private void PassOwedTable()
        {
            Manifest m = _rx.Manifest;
            if (_tablePassSpan >= 0 && _trees.MatchesDigest && m != null && m.ImageId == _trees.ImageId) PassTable(_tablePassSpan);
        }

        /// <summary>A copy whose flags say it carries the group's relay-tree table.</summary>
        private static bool IsTableCopy(byte[] buffer, int offset, int count)
        {
            return count > DataPacket.FlagsOffset && (buffer[offset + DataPacket.FlagsOffset] & DataPacket.FlagTable) != 0;
        }

        /// <summary>The gateway's digest of this group's table: kept (a held table of older trees goes), and the wait
        /// for the table starts.</summary>
        private void HandleTreeDigest(byte[] buffer, int offset, int count)
        {
            lock (_gate)
            {
                int r = _trees.OfferDigest(buffer, offset, count, _cfg.GroupId);
                if (r == RelayTreeTable.OtherGroup) Counters.MessagesRejected++;
                if (r != RelayTreeTable.Taken) return; // Same: the digest held already (a retained one again), nothing changes
                // another digest: the wait for its table starts now, and its table is asked for anew
                _digestAtMs = _clock.NowMs;
                _tableAskedMs = -1;
                _tableAsks = 0;
                _tableFromAsked = false;
                if (!_trees.MatchesDigest)
                {
                    _tablePassSpan = -1; // a table of other trees is no longer passed on
                    return;
                }
                // the table came first (on this device's in-topic: it is the seed), and now the digest names it
                if (_tableFromGateway) PassTable(0);
            }
        }

        /// <summary>A member passed the group's table on: taken when it is the one the digest names, then passed on to
        /// this device's children for the span it carries. A table the digest does not name is dropped (counted as a
        /// rejected message; not the sender's fault: the digest may simply be on its way).</summary>
        private void HandleTableCopy(byte[] buffer, int offset, int count, uint connection)
        {
            lock (_gate)
            {
                if (_stopped) return;
                DataPacket p = ParseData(buffer, offset, count, true);
                if (p == null) return;
                int r = _trees.Offer(p.PayloadBuffer, p.PayloadOffset, p.PayloadLength, _cfg.GroupId, true);
                if (r == RelayTreeTable.Taken)
                {
                    Counters.TablesFromPeers++;
                    // an answer to this device's request carries no span: the one the copy that came too early had
                    TookTable(p.IsSpan ? p.Span : _tableSpanOwed);
                    return;
                }
                if (r != RelayTreeTable.Older && r != RelayTreeTable.Same) Counters.MessagesRejected++;
                if (r == RelayTreeTable.Unverified && _members.IndexOf(p.SenderNode) >= 0)
                {
                    // Most likely the digest is still on its way (the broker's queue to this device is slower than
                    // the seed's copy over the LAN): once it comes, this member asks the sender again (once per digest:
                    // the same sender's copy again does not re-arm the ask).
                    if (_tableFrom != p.SenderNode) _tableFromAsked = false;
                    _tableFrom = p.SenderNode;
                    if (p.IsSpan && p.Span > _tableSpanOwed) _tableSpanOwed = p.Span;
                }
            }
        }

        /// <summary>The gateway's answer to this device's request for the table (a copy flagged FlagTable on its
        /// in-topic): taken like any table from the gateway, and not passed on (its group mates ask for themselves).</summary>
        private void HandleTableAnswer(byte[] buffer, int offset, int count)
        {
            lock (_gate)
            {
                if (_stopped) return;
                DataPacket p = ParseData(buffer, offset, count, false);
                int r = _trees.Offer(p.PayloadBuffer, p.PayloadOffset, p.PayloadLength, _cfg.GroupId);
                if (r == RelayTreeTable.OtherGroup) Counters.MessagesRejected++;
                // the span an early copy carried still goes on (its subtree would otherwise ask the gateway too)
                if (r == RelayTreeTable.Taken) TookTable(_tableSpanOwed);
            }
        }

        /// <summary>Under the lock: a table from a member or the gateway's answer (not the seed's copy) was taken: the
        /// relay copies owed go, the asking ends, and the table goes on down <paramref name="span"/> (0: nowhere).</summary>
        private void TookTable(int span)
        {
            _forwarder.DrainOwed();
            _tableFromGateway = false;
            _tableFrom = 0;
            _tableSpanOwed = 0;
            if (span > 0 && _trees.MatchesDigest) PassTable(span);
        }

        /// <summary>Tick: a device that holds a digest but not its table asks the member whose copy came before the
        /// digest (at once, once), then, after TableWaitMs, the gateway (again every TableAskMs).</summary>
        private void AskForTable(long now)
        {
            uint ip = 0;
            int port = 0;
            lock (_gate)
            {
                if (_stopped) return;
                Manifest m = _rx.Manifest;
                // only while receiving: an installed device that got the retained digest again (a board subscribes
                // anew after its restart) needs no table, and nobody would answer once the rollout ended
                if (m == null || _life.State != DeviceState.Receiving || !_trees.HasDigest(m.ImageId) || _trees.MatchesDigest || _digestAtMs < 0) return;
                int from = _tableFrom != 0 && !_tableFromAsked ? _members.IndexOf(_tableFrom) : -1;
                if (from >= 0)
                {
                    // the member whose copy came before the digest holds the table: ask it first, at once
                    _tableFromAsked = true;
                    ip = _members.IpAt(from);
                    port = _members.PortAt(from);
                }
                else if (_tableAsks >= TableAsksMax || now - _digestAtMs < TableWaitMs || (_tableAskedMs >= 0 && now - _tableAskedMs < TableAskMs)) return;
                PieceRequest q = PieceRequestInstance();
                q.NodeId = _cfg.NodeId;
                q.ImageId = m.ImageId;
                q.What = PieceRequest.WhatRelayTable;
                q.First = 0;
                q.Count = 0;
                q.Encode(_pieceRequestBuf, 0);
                if (port == 0)
                {
                    _tableAskedMs = now;
                    _tableAsks++;
                    Counters.TableRequests++;
                }
            }
            if (port != 0) _peer.Send(ip, port, _pieceRequestBuf, 0, _pieceRequestBuf.Length);
            else _mqtt.Publish(_topicOut, _pieceRequestBuf, 0, _pieceRequestBuf.Length, false);
        }
    }
}
