using IotOta.DeviceFirmware.Receive;
using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Agent
{
    /// <summary>
    /// Protocol v2 (issue #15): the signed root from the group topic admits the image at once (its stored form goes
    /// to flash, <see cref="Flash.RootForm"/>); the chunk-hash list comes in pieces like data — each checked against the
    /// root and written to flash, then passed on by the forwarder to the named relays and the group's members, read
    /// back from flash —; pieces missing are asked of peers first and of the gateway last, and pieces peers ask for
    /// are answered from flash. A chunk is taken once the piece that covers it is in flash; the image is reported as
    /// being received once the whole list is.
    /// </summary>
    public sealed partial class DeviceAgent
    {
        private const int PieceWaitMs = 1500;
        private const int PieceAsksOfPeers = 3;
        private PieceRequest _pieceRequest;
        private byte[] _pieceRequestBuf;
        private long _lastPieceMs;
        private int _pieceAsks;

        /// <summary>A signed root: from the gateway on this device's in-topic (<paramref name="seed"/>: this device
        /// passes it on to its members), from a peer, or from the group topic.</summary>
        private void HandleRoot(byte[] buffer, int offset, int count, bool seed)
        {
            lock (_gate)
            {
                if (_stopped) return;
                if (count >= 8 && _rx.Manifest != null)
                {
                    uint id = (uint)(buffer[offset + 4] | (buffer[offset + 5] << 8) | (buffer[offset + 6] << 16) | (buffer[offset + 7] << 24));
                    if (id == _rx.Manifest.ImageId) return; // already working on (or serving) this image
                }
                int r = _roots.OfferRoot(buffer, offset, count);
                if (r == RootAssembly.Refused) Refuse(_roots.WhyRefused);
                if (r != RootAssembly.Accepted) return;
                _lastPieceMs = _clock.NowMs;
                _pieceAsks = 0;
                if (!Admit(_roots.ToManifest(), buffer, offset, ImageRoot.EncodedLength, _roots.StoredLength, _roots.HashListAt, "image root")) return;
                // A seed passes the root to every member itself only in a full mesh; with a copy tree the root goes down
                // the tree with each piece (Forwarder.QueuePiece), so no device holds more than its fan-out of copies.
                if (seed && !_planner.UsesTree(_members)) _forwarder.QueueRoot(_roots.Root.ImageId, _cfg.NodeId);
                _log.Log("image root: " + _roots.PieceCount + " hash-list pieces to collect");
            }
        }

        /// <summary>A DataPacket carrying a hash-list piece: checked against the root, written to flash and — when it is
        /// a minimum unit (original, or relay copy) — queued to be passed on to the named relays and the group (down the
        /// copy tree when the list has a fan-out); a copy down the tree is passed on to this device's children.</summary>
        private void HandlePiece(byte[] buffer, int offset, int count, bool fromPeer, uint connection)
        {
            lock (_gate)
            {
                if (_stopped) return;
                DataPacket p = ParseData(buffer, offset, count, fromPeer);
                if (p == null) return;
                int r = _roots.OfferPiece(p.PayloadBuffer, p.PayloadOffset, p.PayloadLength);
                if (r == RootAssembly.PieceBad)
                {
                    Counters.BadChunkHashes++;
                    if (fromPeer) _quarantine.StrikePeer(p.SenderNode, connection);
                    return;
                }
                // A copy down the group's copy tree is passed on even when this device held the piece already (the
                // members below it may not).
                if (r == RootAssembly.PieceDuplicate && p.IsSpan) _forwarder.QueuePieceSpan(p.Index, p.Span);
                if (r != RootAssembly.PieceTaken) return;
                Counters.HashPiecesTaken++;
                _lastPieceMs = _clock.NowMs;
                _pieceAsks = 0;
                if (p.IsMinimumUnit) _forwarder.QueuePiece(p, p.Index);
                else if (p.IsSpan) _forwarder.QueuePieceSpan(p.Index, p.Span);
                if (_roots.IsComplete)
                {
                    _status.ReportNow = true; // the gateway plans data for devices that hold the whole list
                    _log.Log("hash list complete: " + _roots.PieceCount + " pieces verified in flash");
                }
            }
        }

        /// <summary>A peer asks for pieces: each held piece goes back as a repair copy, read from flash by the forwarder.</summary>
        private void AnswerPieceRequest(byte[] buffer, int offset, int count)
        {
            lock (_gate)
            {
                if (_stopped) return;
                PieceRequest q = PieceRequestInstance();
                q.Parse(buffer, offset, count);
                if (q.What == PieceRequest.WhatRelayTable)
                {
                    // a member got the table before the digest that names it, and asks for it again (DeviceAgent.Tables)
                    if (_trees.MatchesDigest && q.ImageId == _trees.ImageId) _forwarder.QueueTableReply(q.ImageId, q.NodeId);
                    return;
                }
                if (_roots.Root == null || q.ImageId != _roots.Root.ImageId || q.What != PieceRequest.WhatHashPieces) return;
                for (int k = 0; k < q.Count; k++)
                {
                    int p = q.First + k;
                    if (_roots.HoldsPiece(p) && !_forwarder.QueuePieceReply(q.ImageId, p, q.NodeId)) return;
                }
            }
        }

        private PieceRequest PieceRequestInstance()
        {
            if (_pieceRequest == null)
            {
                _pieceRequest = new PieceRequest();
                _pieceRequestBuf = new byte[PieceRequest.EncodedLength];
            }
            return _pieceRequest;
        }

        /// <summary>From the tick: pieces still missing 1.5 s after the last one came are asked of a member (three
        /// members in turn), then of the gateway.</summary>
        private void AskForPieces(long now)
        {
            int to = 0; // 1 peer, 2 gateway
            uint ip = 0;
            int port = 0;
            lock (_gate)
            {
                if (_stopped || _roots.Root == null || _roots.IsComplete) return;
                if (_rx.Manifest == null || _rx.Manifest.ImageId != _roots.Root.ImageId || _life.State != DeviceState.Receiving) return;
                if (now - _lastPieceMs < PieceWaitMs) return;
                _lastPieceMs = now;
                int first = _roots.FirstMissing();
                if (first < 0) return;
                int n = 0;
                while (first + n < _roots.PieceCount && n < PieceRequest.MaxCount && !_roots.HoldsPiece(first + n)) n++;
                PieceRequest q = PieceRequestInstance();
                q.NodeId = _cfg.NodeId;
                q.ImageId = _roots.Root.ImageId;
                q.What = PieceRequest.WhatHashPieces;
                q.First = first;
                q.Count = n;
                q.Encode(_pieceRequestBuf, 0);
                int others = _members.Count - (_members.IndexOf(_cfg.NodeId) >= 0 ? 1 : 0);
                if (_pieceAsks < PieceAsksOfPeers && others > 0)
                {
                    int pick = (int)((_cfg.NodeId + (uint)_pieceAsks * 7) % (uint)_members.Count);
                    if (_members.NodeAt(pick) == _cfg.NodeId) pick = (pick + 1) % _members.Count;
                    ip = _members.IpAt(pick);
                    port = _members.PortAt(pick);
                    to = 1;
                }
                else to = 2;
                _pieceAsks = _pieceAsks >= PieceAsksOfPeers ? 0 : _pieceAsks + 1;
                Counters.PieceRequestsSent++;
            }
            if (to == 1) _peer.Send(ip, port, _pieceRequestBuf, 0, _pieceRequestBuf.Length);
            else if (to == 2) _mqtt.Publish(_topicOut, _pieceRequestBuf, 0, _pieceRequestBuf.Length, false);
        }
    }
}
