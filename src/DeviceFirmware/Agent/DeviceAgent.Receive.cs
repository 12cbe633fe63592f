using System;
using IotOta.DeviceFirmware.Flash;
using IotOta.DeviceFirmware.Ports;
using IotOta.Shared.Chunking;
using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Agent
{
    /// <summary>The first and second networks in: manifests, packets, member lists, repair requests.</summary>
    public sealed partial class DeviceAgent
    {
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
            int o = PacketBitmap.ByteLength(chunkCount);
            if (_treeOwed.Length < o) _treeOwed = new byte[o];
            else for (int i = 0; i < _treeOwed.Length; i++) _treeOwed[i] = 0;
            _treeOwedCount = 0;
        }

        /// <summary>A message from the first network.</summary>
        public void OnMqttMessage(string topic, byte[] buffer, int offset, int count)
        {
            if (count == 0 && topic == _topicManifest) return; // an aborted rollout cleared its retained manifest
            if (count == 0 && topic == _topicTree)
            {
                lock (_gate) { _tree.ChildCount = 0; } // the gateway took the table back
                return;
            }
            try
            {
                MessageType t = WireHeader.Peek(buffer, offset, count);
                if (t == MessageType.Manifest) HandleManifest(buffer, offset, count);
                else if (t == MessageType.Original || t == MessageType.Copy) HandleData(buffer, offset, count, false, 0);
                else if (t == MessageType.MemberList) HandleMembers(buffer, offset, count);
                else if (t == MessageType.RelayTree) HandleTree(buffer, offset, count);
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

        /// <summary>A relay-tree table for this group: kept when it parses, names this group and is not older than
        /// the one held for the same image.</summary>
        private void HandleTree(byte[] buffer, int offset, int count)
        {
            lock (_gate)
            {
                _treeRx.Parse(buffer, offset, count);
                if (_treeRx.GroupId != _cfg.GroupId)
                {
                    Counters.MessagesRejected++;
                    return;
                }
                if (_tree.ImageId == _treeRx.ImageId && _tree.Epoch > _treeRx.Epoch) return;
                RelayTree t = _tree;
                _tree = _treeRx;
                _treeRx = t;
                DrainOwedTreeRelays();
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
                int relays = QueueRelays(p, m, idx);
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

        /// <summary>Queues the relay copies of a minimum unit (under the lock): to the targets an original names, or
        /// for a relay copy travelling down a relay tree, to this group's tree children. Returns how many.</summary>
        private int QueueRelays(DataPacket p, Manifest m, int idx)
        {
            bool named = p.TargetCount > 0;
            if (!named && p.IsRelay && p.IsTree && !HasTreeTable(m))
            {
                // Down a relay tree before this group's table arrived (it is retained, but travels on another path
                // than the copy): owe the relay copies and send them when the table comes (DrainOwedTreeRelays), so
                // the child groups still get the packet from the tree instead of asking the gateway.
                OweTreeRelay(idx);
                return 0;
            }
            bool tree = !named && p.IsRelay && p.IsTree && _tree.RelaysPacket(idx);
            if (!named && !tree) return 0;
            if (tree) return QueueTreeRelay(idx);
            ForwardJob rj = _relayQueue.Reserve();
            if (rj == null)
            {
                Counters.ForwardDrops++;
                return 0;
            }
            rj.Kind = ForwardJob.KindRelay;
            rj.ImageId = m.ImageId;
            rj.Index = idx;
            rj.CopyFlags = (byte)(DataPacket.FlagRelay | (p.IsTree ? DataPacket.FlagTree : 0));
            int n = 0;
            if (named)
            {
                for (int i = 0; i < p.TargetCount; i++)
                {
                    rj.TargetNode[i] = p.TargetNode[i];
                    rj.TargetIp[i] = p.TargetIp[i];
                    rj.TargetPort[i] = p.TargetPort[i];
                }
                n = p.TargetCount;
            }
            rj.TargetCount = n;
            _relayQueue.Commit();
            return n;
        }

        /// <summary>A relay-tree table for the image being distributed, naming child groups, is held.</summary>
        private bool HasTreeTable(Manifest m)
        {
            return m != null && _tree.ImageId == m.ImageId && _tree.ChildCount > 0;
        }

        /// <summary>Queues the relay copies of packet idx to this group's tree children (under the lock; the table
        /// is held and relays idx). Returns how many, 0 when the relay queue is full.</summary>
        private int QueueTreeRelay(int idx)
        {
            ForwardJob rj = _relayQueue.Reserve();
            if (rj == null)
            {
                Counters.ForwardDrops++;
                return 0;
            }
            rj.Kind = ForwardJob.KindRelay;
            rj.ImageId = _manifest.ImageId;
            rj.Index = idx;
            rj.CopyFlags = (byte)(DataPacket.FlagRelay | DataPacket.FlagTree);
            int n = 0;
            for (int c = 0; c < _tree.ChildCount; c++)
            {
                int s = _tree.SlotFor(c, idx);
                if (_tree.CandidateNode[s] == _cfg.NodeId) continue;
                rj.TargetNode[n] = _tree.CandidateNode[s];
                rj.TargetIp[n] = _tree.CandidateIp[s];
                rj.TargetPort[n] = _tree.CandidatePort[s];
                n++;
            }
            Counters.TreeRelays++;
            rj.TargetCount = n;
            _relayQueue.Commit();
            return n;
        }

        private void OweTreeRelay(int idx)
        {
            int mask = 1 << (idx & 7);
            if (idx >= _treeOwed.Length * 8 || (_treeOwed[idx >> 3] & mask) != 0) return;
            _treeOwed[idx >> 3] = (byte)(_treeOwed[idx >> 3] | mask);
            _treeOwedCount++;
            Counters.TreeRelaysOwed++;
        }

        /// <summary>Under the lock: once the table is held, queues the relay copies owed for tree relay copies that came
        /// before it (those of packets in this group's tree; the others need none), while the relay queue has room.</summary>
        private void DrainOwedTreeRelays()
        {
            Manifest m = _manifest;
            if (_treeOwedCount == 0 || !HasTreeTable(m)) return;
            for (int idx = 0; idx < m.ChunkCount && _treeOwedCount > 0; idx++)
            {
                int mask = 1 << (idx & 7);
                if ((_treeOwed[idx >> 3] & mask) == 0) continue;
                if (_tree.RelaysPacket(idx) && _held.Get(idx))
                {
                    if (_relayQueue.IsFull) return; // the rest on a later pump
                    QueueTreeRelay(idx);
                }
                _treeOwed[idx >> 3] = (byte)(_treeOwed[idx >> 3] & ~mask);
                _treeOwedCount--;
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
                // keep room for minimum units: a quarter of the queue, at most 8 (a fixed 8 left small boards' queues
                // of 8 or 16 jobs no room at all, so their peers never answered and every repair went to the gateway)
                int reserve = _queue.Capacity / 4;
                if (reserve > 8) reserve = 8;
                int room = _queue.Capacity - _queue.Count - reserve;
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
    }
}
