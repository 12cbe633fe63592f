using System;
using IotOta.DeviceFirmware.Flash;
using IotOta.DeviceFirmware.Ports;
using IotOta.Shared.Chunking;
using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Agent
{
    /// <summary>Forwarding: relay copies first, then copies to the group, then the receipt notice.</summary>
    public sealed partial class DeviceAgent
    {
        /// <summary>Does one piece of forwarding work (or the install when everything is held and forwarded).
        /// Relay copies to other groups go first: a member job in progress yields to them between two copies, so a
        /// relay device never waits behind this device's own group. Returns false when there was nothing to do.</summary>
        public bool PumpOnce()
        {
            bool relay = false;
            int msgLen;
            lock (_gate)
            {
                if (_stopped) return false;
                Manifest m = _manifest;
                if (_treeOwedCount > 0) DrainOwedTreeRelays();
                if (_relayQueue.TryDequeue(_relayWork))
                {
                    if (m == null || _relayWork.ImageId != m.ImageId || !_held.Get(_relayWork.Index)) return true;
                    LoadTx(m, _relayWork.Index, _relayWork.CopyFlags);
                    relay = true;
                }
                else
                {
                    if (!_workActive)
                    {
                        if (!_queue.TryDequeue(_work))
                        {
                            if (_installRequested)
                            {
                                _installRequested = false;
                                return Install();
                            }
                            return false;
                        }
                        if (m == null || _work.ImageId != m.ImageId || !_held.Get(_work.Index)) return true;
                        StartWork();
                    }
                    if (m == null || _work.ImageId != m.ImageId)
                    {
                        _workActive = false; // a new image replaced the one this job was for
                        return true;
                    }
                    LoadTx(m, _work.Index, _work.Kind == ForwardJob.KindRepairReply ? DataPacket.FlagRepair : (byte)0);
                }
                msgLen = _txLen;
            }

            if (relay)
            {
                int ok = 0, bad = 0;
                for (int i = 0; i < _relayWork.TargetCount; i++)
                {
                    if (_relayWork.TargetNode[i] == _cfg.NodeId) continue;
                    if (_peer.Send(_relayWork.TargetIp[i], _relayWork.TargetPort[i], _txBuf, 0, msgLen)) ok++;
                    else bad++;
                }
                lock (_gate)
                {
                    Counters.CopiesSent += ok;
                    Counters.CopiesFailed += bad;
                    Counters.PeerPayloadBytesSent += (long)ok * _txPayloadLen;
                    // The packet's member job (queued behind) reports the relay copies that were delivered.
                    ForwardJob member = _queue.Find(_relayWork.ImageId, _relayWork.Index, ForwardJob.KindMinimumUnit);
                    if (member != null) member.RelayCount = ok;
                }
                return true;
            }

            while (_workNext < _workTargets)
            {
                int i = _workNext++;
                if (_peer.Send(_sendIp[i], _sendPort[i], _txBuf, 0, msgLen)) _workSent++;
                else _workFailed++;
                if (_workNext < _workTargets && _relayQueue.Count > 0)
                {
                    FlushWorkCounters();
                    return true; // let the relay go first; this job resumes on the next call
                }
            }
            _workActive = false;
            bool notice = _work.Kind == ForwardJob.KindMinimumUnit;
            if (notice)
            {
                _notice.NodeId = _cfg.NodeId;
                _notice.ImageId = _work.ImageId;
                _notice.Index = _work.Index;
                _notice.Kind = _work.NoticeKind;
                _notice.ReceiveTimeMs = _work.ReceivedAtMs;
                _notice.ForwardedTimeMs = _clock.NowMs;
                _notice.CopiesSent = _workSentTotal + _workSent + _work.RelayCount;
                int n = _notice.Encode(_noticeBuf, 0);
                _mqtt.Publish(_topicOut, _noticeBuf, 0, n, false);
            }
            lock (_gate)
            {
                if (notice) Counters.NoticesSent++;
                else Counters.RepairRepliesSent += _workSentTotal + _workSent;
            }
            FlushWorkCounters();
            return true;
        }

        /// <summary>Takes the destinations of the job in _work (under the lock).</summary>
        private void StartWork()
        {
            int n = 0;
            if (_work.Kind == ForwardJob.KindMinimumUnit)
            {
                for (int i = 0; i < _members.Count; i++)
                {
                    uint node = _members.NodeAt(i);
                    if (node == _cfg.NodeId || node == _work.ExcludeNode) continue;
                    _sendNode[n] = node;
                    _sendIp[n] = _members.IpAt(i);
                    _sendPort[n] = _members.PortAt(i);
                    n++;
                }
            }
            else
            {
                _sendNode[0] = _work.TargetNode[0];
                _sendIp[0] = _work.TargetIp[0];
                _sendPort[0] = _work.TargetPort[0];
                n = 1;
            }
            _workTargets = n;
            _workNext = 0;
            _workSent = 0;
            _workFailed = 0;
            _workSentTotal = 0;
            _workActive = true;
        }

        private void FlushWorkCounters()
        {
            lock (_gate)
            {
                Counters.CopiesSent += _workSent;
                Counters.CopiesFailed += _workFailed;
                Counters.PeerPayloadBytesSent += (long)_workSent * _txPayloadLen;
            }
            _workSentTotal += _workSent;
            _workSent = 0;
            _workFailed = 0;
        }

        /// <summary>Puts packet index as a Copy with these flags into the send buffer, reading the chunk from flash
        /// only when the buffer holds another packet (under the lock).</summary>
        private void LoadTx(Manifest m, int index, byte flags)
        {
            if (_txImage == m.ImageId && _txIndex == index && _txLen > 0)
            {
                _txBuf[DataPacket.FlagsOffset] = flags;
                return;
            }
            int chunkLen = m.ChunkLength(index);
            _txWriter.Reset(_txBuf, 0, _txBuf.Length);
            int at = DataPacket.WriteHeader(_txWriter, MessageType.Copy, m.ImageId, index, flags, _cfg.NodeId, 0, null, null, null, chunkLen);
            int staged = _staging == null ? -1 : _staging.Find(index);
            if (staged >= 0) _staging.Read(staged, _txBuf, at, chunkLen);
            else _imageSlot.Read(m.ChunkOffset(index), _txBuf, at, chunkLen);
            _txLen = _txWriter.Length;
            _txPayloadLen = chunkLen;
            _txImage = m.ImageId;
            _txIndex = index;
        }
    }
}
