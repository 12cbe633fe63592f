using IotOta.DeviceFirmware.Copies;
using IotOta.DeviceFirmware.Flash;
using IotOta.DeviceFirmware.Ports;
using IotOta.DeviceFirmware.Receive;
using IotOta.DeviceFirmware.Slots;
using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Agent
{
    /// <summary>The first and second networks in: each message goes to the part that handles it.</summary>
    public sealed partial class DeviceAgent
    {
        /// <summary>A message from the first network.</summary>
        public void OnMqttMessage(string topic, byte[] buffer, int offset, int count)
        {
            if (count == 0 && topic == _topicManifest) return; // an aborted rollout cleared its retained manifest
            if (count == 0 && topic == _topicTree)
            {
                lock (_gate) { _trees.Withdraw(); } // the gateway took the table back
                return;
            }
            try
            {
                MessageType t = WireHeader.Peek(buffer, offset, count);
                if (t == MessageType.Manifest) HandleManifest(buffer, offset, count);
                else if (t == MessageType.ImageRoot) HandleRoot(buffer, offset, count, topic == _topicIn);
                else if (t == MessageType.Copy && IsTableCopy(buffer, offset, count)) HandleTableAnswer(buffer, offset, count);
                else if ((t == MessageType.Original || t == MessageType.Copy) && IsPiece(buffer, offset, count)) HandlePiece(buffer, offset, count, false, 0);
                else if (t == MessageType.Original || t == MessageType.Copy) HandleData(buffer, offset, count, false, 0);
                else if (t == MessageType.MemberList) HandleMembers(buffer, offset, count);
                else if (t == MessageType.RelayTree) HandleTree(buffer, offset, count, topic == _topicIn);
                else if (t == MessageType.RelayTreeDigest) HandleTreeDigest(buffer, offset, count);
                else if (t == MessageType.RepairRequest)
                {
                    // the gateway names this device the donor of packets a group mate misses (it holds them)
                    lock (_gate)
                    {
                        if (!_stopped)
                        {
                            Counters.DonorOrders++;
                            _repairServer.Handle(buffer, offset, count, true);
                        }
                    }
                }
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
                    if (connection != 0 && _quarantine.IsQuarantined(PeerQuarantine.Connection, connection))
                    {
                        Counters.QuarantinedDrops++;
                        return;
                    }
                }
                MessageType t = WireHeader.Peek(buffer, offset, count);
                if (t == MessageType.Copy && IsTableCopy(buffer, offset, count)) HandleTableCopy(buffer, offset, count, connection);
                else if (t == MessageType.Copy && IsPiece(buffer, offset, count)) HandlePiece(buffer, offset, count, true, connection);
                else if (t == MessageType.ImageRoot) HandleRoot(buffer, offset, count, false);
                else if (t == MessageType.Copy) HandleData(buffer, offset, count, true, connection);
                else if (t == MessageType.PieceRequest) AnswerPieceRequest(buffer, offset, count);
                else if (t == MessageType.RepairRequest)
                {
                    lock (_gate)
                    {
                        if (!_stopped) _repairServer.Handle(buffer, offset, count);
                    }
                }
                else
                {
                    lock (_gate) { if (connection != 0) _quarantine.Strike(PeerQuarantine.Connection, connection); }
                    Reject("unexpected peer message type " + (int)t);
                }
            }
            catch (ProtocolException e)
            {
                lock (_gate) { if (connection != 0) _quarantine.Strike(PeerQuarantine.Connection, connection); }
                Reject(e.Message);
            }
            catch (FlashException e)
            {
                Fail("flash: " + e.Message);
            }
        }

        /// <summary>A data packet whose flags say it carries a hash-list piece (v2), not a chunk.</summary>
        private static bool IsPiece(byte[] buffer, int offset, int count)
        {
            return count > DataPacket.FlagsOffset && (buffer[offset + DataPacket.FlagsOffset] & DataPacket.FlagHashPiece) != 0;
        }

        private void Reject(string why)
        {
            lock (_gate) { Counters.MessagesRejected++; }
            _log.Log("rejected: " + why);
        }

        private void Fail(string why)
        {
            lock (_gate)
            {
                _life.State = DeviceState.Failed;
                _status.ReportNow = true;
            }
            _log.Log("failed: " + why);
        }

        private void Refuse(string why)
        {
            Counters.ManifestsRefused++;
            _log.Log("refused: " + why);
        }

        private void HandleMembers(byte[] buffer, int offset, int count)
        {
            lock (_gate)
            {
                // A group mate left: report what this device holds now, not at the next interval (the gateway waits for
                // the group's reports before it sends again what the gone device was to pass on: RolloutScheduler.OrphanSettling).
                if (!_members.Apply(buffer, offset, count, _cfg.GroupId)) return;
                if (_members.Dropped && _rx.Manifest != null) _status.ReportNow = true;
                // kept in flash for a restart (the list parsed: Apply threw otherwise)
                _memberStore.Save(buffer, offset, count);
            }
        }

        /// <summary>A relay-tree table from the gateway: kept when it parses, names this group and is not older than the
        /// one held for the same image; then the relay copies owed while it was missing are queued. One that came on this
        /// device's in-topic and is the table the group's digest names makes this device its group's seed: it passes the
        /// table on to the members (Forwarder.QueueTable).</summary>
        private void HandleTree(byte[] buffer, int offset, int count, bool own)
        {
            lock (_gate)
            {
                int r = _trees.Offer(buffer, offset, count, _cfg.GroupId);
                if (r == RelayTreeTable.OtherGroup) Counters.MessagesRejected++;
                else if (r == RelayTreeTable.Taken)
                {
                    _forwarder.DrainOwed();
                    _tableFromGateway = own; // a seed whose table came before the digest passes it on once the digest does
                    _tableFrom = 0;
                    if (own && _trees.MatchesDigest) PassTable(0);
                }
            }
        }

        private void HandleManifest(byte[] buffer, int offset, int count)
        {
            lock (_gate)
            {
                if (_stopped) return;
                Manifest held = _rx.Manifest;
                if (count >= 8 && held != null)
                {
                    uint id = (uint)(buffer[offset + 4] | (buffer[offset + 5] << 8) | (buffer[offset + 6] << 16) | (buffer[offset + 7] << 24));
                    if (id == held.ImageId) return; // already working on (or serving) this image
                }
                // the chunk-hash list stays in the message (it goes to flash with the stored manifest), never in RAM
                Manifest m = Manifest.DecodeWithoutHashes(buffer, offset, offset + count - Manifest.TailLength, count);
                if (!_signature.Verifies(m, buffer, offset))
                {
                    Refuse("manifest signature does not verify (key " + m.KeyId + ")");
                    return;
                }
                Admit(m, buffer, offset, count, count, Manifest.ChunkHashesOffset, "manifest");
            }
        }

        /// <summary>Under the lock: a verified image description (a v1 manifest, or a v2 root) is admitted by the slot
        /// lifecycle, fits the inactive slot, and the receive path begins storing its stored form (<paramref name="length"/>
        /// bytes, of which the first <paramref name="written"/> are in <paramref name="stored"/>; the chunk-hash list at
        /// <paramref name="hashListAt"/> in it). False when refused.</summary>
        private bool Admit(Manifest m, byte[] stored, int offset, int written, int length, int hashListAt, string what)
        {
            int verdict = _life.Admit(m);
            if (verdict == SlotLifecycle.Refuse) Refuse(_life.WhyRefused);
            if (verdict != SlotLifecycle.Accept) return false;
            int slotIndex = _life.InactiveSlot;
            IFlashPartition slot = _flash.Slot(slotIndex);
            string why = _rx.WhyNotFits(m, length, slot);
            if (why != null)
            {
                Refuse(why);
                return false;
            }
            _forwarder.Clear();
            _rx.Begin(stored, offset, written, length, hashListAt, m, slotIndex, slot);
            _life.State = DeviceState.Receiving;
            SizeFor(m.ChunkCount);
            PassOwedTable(); // a relay-tree table that came before the image (it waits for the forwarder's new image)
            _status.ReportNow = true;
            _log.Log("accepted " + what + " " + m.Version.ToString() + ": " + m.ImageSize + " bytes in " + m.ChunkCount + " packets");
            return true;
        }

        /// <summary>Under the lock: the data packet in buffer, parsed into the agent's one instance; null when it comes from
        /// a quarantined peer (counted).</summary>
        private DataPacket ParseData(byte[] buffer, int offset, int count, bool fromPeer)
        {
            DataPacket p = _packet;
            p.Parse(buffer, offset, count);
            if (fromPeer && _quarantine.IsQuarantined(PeerQuarantine.Sender, p.SenderNode))
            {
                Counters.QuarantinedDrops++;
                return null;
            }
            return p;
        }

        private void HandleData(byte[] buffer, int offset, int count, bool fromPeer, uint connection)
        {
            lock (_gate)
            {
                if (_stopped) return;
                DataPacket p = ParseData(buffer, offset, count, fromPeer);
                if (p == null) return;
                int taken = _rx.Take(p);
                if (taken == ReceivePath.Invalid || taken == ReceivePath.BadHash)
                {
                    if (fromPeer) _quarantine.StrikePeer(p.SenderNode, connection);
                    return;
                }
                if (taken == ReceivePath.Stale || taken == ReceivePath.Dropped || taken == ReceivePath.NoHashYet) return;
                if (taken == ReceivePath.Stored)
                {
                    _status.Dirty = true;
                    if (_rx.IsComplete && _life.State == DeviceState.Receiving) _rx.InstallRequested = true;
                }
                // A minimum unit: this device copies it (from its own verified flash) to the named devices of other
                // groups first, then to the members of its group.
                if (p.IsMinimumUnit) _forwarder.QueueMinimumUnit(p, _rx.Manifest, p.Index);
                // A copy down the group's copy tree: passed on to this device's children for its span (even when it
                // was a duplicate here: the members below still need it).
                else if (p.IsSpan) _forwarder.QueueSpanCopy(p, _rx.Manifest, p.Index);
            }
        }
    }
}
