using IotOta.DeviceFirmware.Receive;
using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Agent
{
    /// <summary>
    /// Protocol v2 (issue #15): the signed root from the group topic, the chunk-hash list in pieces that come like data
    /// (checked against the root, passed on to the named relays and the group's members), pieces asked of peers first
    /// and of the gateway last, and pieces given to peers that ask. When the list is complete the image is accepted
    /// exactly as a v1 manifest would be.
    /// </summary>
    public sealed partial class DeviceAgent
    {
        private const int PieceWaitMs = 1500;
        private const int PieceAsksOfPeers = 3;
        private readonly PieceRequest _pieceRequest = new PieceRequest();
        private readonly byte[] _pieceRequestBuf = new byte[PieceRequest.EncodedLength];
        private long _lastPieceMs;
        private int _pieceAsks;

        private void HandleRoot(byte[] buffer, int offset, int count)
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
                _log.Log("accepted image root " + _roots.Root.Version.ToString() + ": " + _roots.PieceCount + " hash-list pieces to collect");
            }
        }

        /// <summary>A DataPacket carrying a hash-list piece: checked against the root, kept, and — when it is a minimum
        /// unit (original, or relay copy) — passed on to the named relays and to every member, as a chunk would be.</summary>
        private void HandlePiece(byte[] buffer, int offset, int count, bool fromPeer, uint connection)
        {
            byte[] relayFrame = null, memberFrame = null;
            uint[] relayIp = null, memberIp = null;
            int[] relayPort = null, memberPort = null;
            int relays = 0, members = 0;
            lock (_gate)
            {
                if (_stopped) return;
                DataPacket p = _packet;
                p.Parse(buffer, offset, count);
                if (fromPeer && _quarantine.IsQuarantined(PeerQuarantine.Sender, p.SenderNode))
                {
                    Counters.QuarantinedDrops++;
                    return;
                }
                int r = _roots.OfferPiece(p.PayloadBuffer, p.PayloadOffset, p.PayloadLength);
                if (r == RootAssembly.PieceBad)
                {
                    Counters.BadChunkHashes++;
                    if (fromPeer) _quarantine.StrikePeer(p.SenderNode, connection);
                    return;
                }
                if (r != RootAssembly.PieceTaken) return;
                Counters.HashPiecesTaken++;
                _lastPieceMs = _clock.NowMs;
                _pieceAsks = 0;
                if (p.IsMinimumUnit)
                {
                    relays = p.TargetCount;
                    relayIp = new uint[relays];
                    relayPort = new int[relays];
                    for (int i = 0; i < relays; i++)
                    {
                        relayIp[i] = p.TargetIp[i];
                        relayPort[i] = p.TargetPort[i];
                    }
                    if (relays > 0) relayFrame = PieceCopy(p, DataPacket.FlagHashPiece | DataPacket.FlagRelay);
                    memberIp = new uint[_members.Count];
                    memberPort = new int[_members.Count];
                    for (int i = 0; i < _members.Count; i++)
                    {
                        uint n = _members.NodeAt(i);
                        if (n == _cfg.NodeId || n == p.SenderNode) continue;
                        memberIp[members] = _members.IpAt(i);
                        memberPort[members] = _members.PortAt(i);
                        members++;
                    }
                    if (members > 0) memberFrame = PieceCopy(p, DataPacket.FlagHashPiece);
                }
                if (_roots.IsComplete) AcceptAssembled();
            }
            for (int i = 0; i < relays; i++) _peer.Send(relayIp[i], relayPort[i], relayFrame, 0, relayFrame.Length);
            for (int i = 0; i < members; i++) _peer.Send(memberIp[i], memberPort[i], memberFrame, 0, memberFrame.Length);
        }

        private byte[] PieceCopy(DataPacket p, int flags)
        {
            byte[] frame = new byte[DataPacket.EncodedLength(0, p.PayloadLength)];
            DataPacket.Write(new WireWriter(frame), MessageType.Copy, p.ImageId, p.Index, (byte)flags, _cfg.NodeId, 0, null, null, null,
                p.PayloadBuffer, p.PayloadOffset, p.PayloadLength);
            return frame;
        }

        /// <summary>Every piece held: the image is admitted as a v1 manifest would be, and root ‖ list is stored for a restart.</summary>
        private void AcceptAssembled()
        {
            byte[] stored = _roots.StoredForm();
            Admit(_roots.ToManifest(), stored, 0, stored.Length, "root with its verified hash list");
        }

        /// <summary>A peer asks for pieces: each held piece goes back as a repair copy (hashes and a fresh proof).</summary>
        private void AnswerPieceRequest(byte[] buffer, int offset, int count)
        {
            byte[][] frames = null;
            uint ip = 0;
            int port = 0;
            lock (_gate)
            {
                if (_stopped) return;
                _pieceRequest.Parse(buffer, offset, count);
                int at = _members.IndexOf(_pieceRequest.NodeId);
                if (at < 0 || _roots.Root == null || _pieceRequest.ImageId != _roots.Root.ImageId || _pieceRequest.What != PieceRequest.WhatHashPieces) return;
                ip = _members.IpAt(at);
                port = _members.PortAt(at);
                frames = new byte[_pieceRequest.Count][];
                byte[] piece = new byte[HashPiece.EncodedLength(_roots.Root.HashesPerPiece, HashListTree.MaxProof)];
                for (int k = 0; k < _pieceRequest.Count; k++)
                {
                    int p = _pieceRequest.First + k;
                    if (!_roots.HoldsPiece(p)) continue;
                    int len = _roots.WritePiece(p, piece, 0);
                    frames[k] = new byte[DataPacket.EncodedLength(0, len)];
                    DataPacket.Write(new WireWriter(frames[k]), MessageType.Copy, _roots.Root.ImageId, p, DataPacket.FlagHashPiece | DataPacket.FlagRepair,
                        _cfg.NodeId, 0, null, null, null, piece, 0, len);
                }
            }
            for (int k = 0; k < frames.Length; k++) if (frames[k] != null) _peer.Send(ip, port, frames[k], 0, frames[k].Length);
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
                if (_rx.Manifest != null && _rx.Manifest.ImageId == _roots.Root.ImageId) return;
                if (now - _lastPieceMs < PieceWaitMs) return;
                _lastPieceMs = now;
                int first = _roots.FirstMissing();
                int n = 0;
                while (first + n < _roots.PieceCount && n < PieceRequest.MaxCount && !_roots.HoldsPiece(first + n)) n++;
                _pieceRequest.NodeId = _cfg.NodeId;
                _pieceRequest.ImageId = _roots.Root.ImageId;
                _pieceRequest.What = PieceRequest.WhatHashPieces;
                _pieceRequest.First = first;
                _pieceRequest.Count = n;
                _pieceRequest.Encode(_pieceRequestBuf, 0);
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
