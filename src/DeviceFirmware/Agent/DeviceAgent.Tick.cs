using System;
using IotOta.DeviceFirmware.Flash;
using IotOta.DeviceFirmware.Ports;
using IotOta.Shared.Chunking;
using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Agent
{
    /// <summary>Periodic work: repair requests and progress reports.</summary>
    public sealed partial class DeviceAgent
    {
        /// <summary>Periodic work: repair requests when packets stop arriving, and progress reports.</summary>
        public void Tick()
        {
            long now = _clock.NowMs;
            int repairTo = -1; // -1 none, 0 gateway, 1 peer
            uint peerIp = 0;
            int peerPort = 0;
            int repairLen = 0;
            bool abandon = false;
            lock (_gate)
            {
                if (_stopped) return;
                if (_bootRec.State == BootState.Trial && now - _bootedAtMs >= _cfg.TrialTimeoutMs)
                {
                    abandon = AbandonTrial("not confirmed within " + _cfg.TrialTimeoutMs + " ms");
                }
            }
            if (abandon)
            {
                _restart.RequestRestart();
                return;
            }
            lock (_gate)
            {
                if (_stopped) return;
                if (_state == DeviceState.Receiving && _held != null && !_held.IsComplete)
                {
                    long idle = _repairing ? _cfg.RepairRoundMs : _cfg.RepairIdleMs;
                    if (now - _lastNewPacketMs < idle)
                    {
                        if (!_repairing) _repairAttempt = 0;
                    }
                    else if (now - _lastRepairMs >= idle)
                    {
                        if (_repairing && _held.HeldCount <= _heldAtLastRepair) _repairAttempt++;
                        _repairing = true;
                        _lastRepairMs = now;
                        _heldAtLastRepair = _held.HeldCount;
                        RepairRequest rq = _repairTx;
                        rq.NodeId = _cfg.NodeId;
                        rq.ImageId = _manifest.ImageId;
                        rq.ChunkCount = _manifest.ChunkCount;
                        rq.MaxReplies = _cfg.MaxRepairReplies;
                        int missingAt = RepairRequest.FixedLength;
                        _held.WriteMissing(_repairBuf, missingAt);
                        rq.MissingBuffer = _repairBuf;
                        rq.MissingOffset = missingAt;
                        repairLen = rq.Encode(_repairBuf, 0);
                        int self = _members.IndexOf(_cfg.NodeId);
                        int peers = _members.Count - (self >= 0 ? 1 : 0);
                        int cycle = (peers < 3 ? peers : 3) + 1; // up to three peers, then the gateway
                        int j = -1;
                        if (_repairAttempt % cycle < cycle - 1)
                        {
                            // the next peer in turn that is not quarantined
                            for (int tries = 0; tries < peers && j < 0; tries++)
                            {
                                int k = (int)((_cfg.NodeId + (uint)_repairAttempt + (uint)tries) % (uint)peers);
                                int cand = self >= 0 && k >= self ? k + 1 : k;
                                if (!IsQuarantined(0, _members.NodeAt(cand))) j = cand;
                            }
                        }
                        if (j >= 0)
                        {
                            peerIp = _members.IpAt(j);
                            peerPort = _members.PortAt(j);
                            repairTo = 1;
                            Counters.RepairRequestsSent++;
                        }
                        else
                        {
                            repairTo = 0;
                            Counters.GatewayRepairRequests++;
                        }
                    }
                }
                else
                {
                    _repairing = false;
                }
            }
            if (repairTo == 1) _peer.Send(peerIp, peerPort, _repairBuf, 0, repairLen);
            else if (repairTo == 0) _mqtt.Publish(_topicOut, _repairBuf, 0, repairLen, false);
            PublishProgressIfDue(now);
        }

        private void PublishProgressIfDue(long now)
        {
            lock (_publishGate)
            {
                int n;
                lock (_gate)
                {
                    bool due = _progressNow || (_progressDirty && now - _lastProgressMs >= _cfg.ProgressIntervalMs);
                    if (!due) return;
                    _progressNow = false;
                    _progressDirty = false;
                    _lastProgressMs = now;
                    _progress.NodeId = _cfg.NodeId;
                    _progress.ImageId = _manifest == null ? 0 : _manifest.ImageId;
                    _progress.State = _state;
                    _progress.RunningVersion = _bootRec.Version;
                    _progress.ChunkCount = _held == null ? 0 : _held.Count;
                    _progress.HeldCount = _held == null ? 0 : _held.HeldCount;
                    _progress.BitmapBuffer = _held == null ? null : _held.Bytes;
                    _progress.BitmapOffset = 0;
                    n = _progress.Encode(_progressBuf, 0);
                }
                _mqtt.Publish(_topicOut, _progressBuf, 0, n, false);
            }
        }
    }
}
