using IotOta.DeviceFirmware.Ports;
using IotOta.DeviceFirmware.Receive;
using IotOta.DeviceFirmware.Slots;
using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Agent
{
    /// <summary>
    /// What the device tells the gateway about itself: its presence (retained, with its capabilities) and progress
    /// reports (state, version, which packets it holds), at once when something changed that the gateway must know
    /// and at most every ProgressIntervalMs otherwise. Encodes under the agent's lock (<c>gate</c>), publishes outside it;
    /// one publish at a time.
    /// </summary>
    public sealed class StatusReporter
    {
        private readonly object _gate;
        private readonly object _publishGate = new object();
        private readonly DeviceConfig _cfg;
        private readonly IMqttPort _mqtt;
        private readonly IFlashLayout _flash;
        private readonly SlotLifecycle _life;
        private readonly ReceivePath _rx;
        private readonly Presence _presence = new Presence();
        private readonly ProgressReport _progress = new ProgressReport();
        private readonly byte[] _presenceBuf = new byte[Presence.MaxEncodedLength];
        private readonly string _topicStatus;
        private readonly string _topicOut;
        private byte[] _progressBuf = new byte[ProgressReport.FixedLength];
        private long _lastProgressMs;
        private long _dirtySinceMs = -1; // when the tick first saw Dirty since the last report (-1: not yet)

        public StatusReporter(DeviceConfig cfg, object gate, IMqttPort mqtt, string topicOut, IFlashLayout flash, SlotLifecycle life, ReceivePath rx)
        {
            _cfg = cfg;
            _gate = gate;
            _mqtt = mqtt;
            _flash = flash;
            _life = life;
            _rx = rx;
            _topicStatus = Topics.DeviceStatus(cfg.NodeId);
            _topicOut = topicOut;
            ReportNow = true;
        }

        /// <summary>The core stopped for a restart (installed, abandoned its trial, failed its self-test): it reports
        /// nothing more (the next core announces itself). Not set by a plain Stop (power off; a core stopped over its
        /// heap budget still announces itself). Set under the lock. An install switches the boot record, so a report
        /// encoded after it named the new version as running with the state Installing; delivered after the new core's
        /// presence it set an updated device back, and the rollout waited for it until its timeout (N = 1,000, 1 device
        /// in 2 of 4 runs once the new core's report no longer followed).</summary>
        public bool Stopped;

        /// <summary>Report progress at the next chance (state changed). Set under the lock.</summary>
        public bool ReportNow;
        /// <summary>A new packet is held: report ProgressIntervalMs after the tick first saw it (and no sooner than that
        /// after the last report). Set under the lock.</summary>
        public bool Dirty;

        /// <summary>A new image of chunkCount packets: the report buffer fits its bitmap (under the lock).</summary>
        public void SizeFor(int chunkCount)
        {
            int p = ProgressReport.EncodedLength(chunkCount);
            if (_progressBuf.Length < p) _progressBuf = new byte[p];
        }

        /// <summary>The last presence did not go out (the publish failed: not connected, or its acknowledgement timed
        /// out): <see cref="PublishPresenceIfDue"/> sends it again. The presence is the only message that tells the
        /// gateway a device runs its new image (no progress report follows it).</summary>
        private bool _presenceDue; // under _publishGate

        /// <summary>Publishes the presence again if the last one failed and the device is connected.</summary>
        public void PublishPresenceIfDue()
        {
            bool due;
            lock (_publishGate) due = _presenceDue;
            if (due && _mqtt.IsConnected) PublishPresence();
        }

        /// <summary>Publishes this device's presence (retained); false when the publish failed (it is sent again by
        /// <see cref="PublishPresenceIfDue"/>).</summary>
        public bool PublishPresence()
        {
            lock (_publishGate)
            {
                Presence p = _presence;
                lock (_gate)
                {
                    if (Stopped)
                    {
                        _presenceDue = false;
                        return false;
                    }
                    p.NodeId = _cfg.NodeId;
                    p.GroupId = _cfg.GroupId;
                    p.Online = true;
                    p.Ip = _cfg.PeerIp;
                    p.Port = _cfg.PeerPort;
                    p.RunningVersion = _life.RunningVersion;
                    p.State = _life.State;
                    // what the gateway needs to refuse images that do not fit and to pace a sequential sink
                    p.HasCapabilities = true;
                    p.SlotSize = _flash.Slot(_life.InactiveSlot).Size;
                    p.MaxChunkSize = _cfg.MaxChunkSize;
                    p.SequentialSink = _rx.Packets.SequentialOnly;
                    int staging = _rx.Packets.StagingCapacity;
                    p.StagingCapacity = staging > 65535 ? 65535 : staging;
                    // what the gateway needs to refuse a group the member list cannot name or a socket budget too small
                    p.HasPeerBudget = true;
                    p.MaxMembers = _cfg.MaxMembers < 1 ? 1 : _cfg.MaxMembers > MemberListUpdate.MaxMembers ? MemberListUpdate.MaxMembers : _cfg.MaxMembers;
                    p.MaxPeerConnections = _cfg.MaxPeerConnections < 0 ? 0 : _cfg.MaxPeerConnections > 255 ? 255 : _cfg.MaxPeerConnections;
                }
                int n = p.Encode(_presenceBuf, 0);
                bool sent = _mqtt.Publish(_topicStatus, _presenceBuf, 0, n, true);
                _presenceDue = !sent;
                return sent;
            }
        }

        /// <summary>Publishes a progress report when one is due.</summary>
        public void PublishProgressIfDue(long now)
        {
            lock (_publishGate)
            {
                int n;
                lock (_gate)
                {
                    if (Stopped) return;
                    if (Dirty && _dirtySinceMs < 0) _dirtySinceMs = now;
                    bool due = ReportNow || (Dirty && now - _dirtySinceMs >= _cfg.ProgressIntervalMs && now - _lastProgressMs >= _cfg.ProgressIntervalMs);
                    // v2: an image whose hash list is still coming is not reported yet (the gateway plans data for the
                    // devices that report it); the report waits until the list is complete.
                    if (!due || !_rx.ListComplete) return;
                    ReportNow = false;
                    Dirty = false;
                    _dirtySinceMs = -1;
                    _lastProgressMs = now;
                    Manifest m = _rx.Manifest;
                    _progress.NodeId = _cfg.NodeId;
                    _progress.ImageId = m == null ? 0 : m.ImageId;
                    _progress.State = _life.State;
                    _progress.RunningVersion = _life.RunningVersion;
                    _progress.ChunkCount = _rx.Held == null ? 0 : _rx.Held.Count;
                    _progress.HeldCount = _rx.HeldCount;
                    _progress.BitmapBuffer = _rx.Held == null ? null : _rx.Held.Bytes;
                    _progress.BitmapOffset = 0;
                    n = _progress.Encode(_progressBuf, 0);
                }
                _mqtt.Publish(_topicOut, _progressBuf, 0, n, false);
            }
        }
    }
}
