using IotOta.DeviceFirmware.Agent;
using IotOta.DeviceFirmware.Ports;
using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Copies
{
    /// <summary>
    /// Protocol v2 (issue #15): the device's receipt notices go to the gateway in CompactNoticeBatches (8 B each instead
    /// of ~60 on the wire, and 13 B of header), written in place (<see cref="NoticeBatchWriter"/>) and sent when full, when the image changes, or
    /// once the oldest waited twice the smoothed gap between this device's notices (between DeviceConfig.NoticeHoldMs
    /// and NoticeHoldMaxMs; see there). Thread-safe (locks its batch); the forwarder adds, pump and tick flush.
    /// </summary>
    public sealed class NoticeBatcher
    {
        private readonly NoticeBatchWriter _batch;
        private readonly IMqttPort _mqtt;
        private readonly IClock _clock;
        private readonly string _topicOut;
        private readonly uint _self;
        private readonly int _holdMinMs;
        private readonly int _holdMaxMs;
        private long _sinceMs;
        private long _lastMs = -1;
        private int _gapMs; // smoothed gap between this device's notices

        public NoticeBatcher(DeviceConfig cfg, IMqttPort mqtt, string topicOut, IClock clock)
        {
            _batch = new NoticeBatchWriter(cfg.NoticeBatchEntries, true); // CompactNoticeBatch: the out topic names this device
            _mqtt = mqtt;
            _clock = clock;
            _topicOut = topicOut;
            _self = cfg.NodeId;
            _holdMinMs = cfg.NoticeHoldMs;
            _holdMaxMs = cfg.NoticeHoldMaxMs;
        }

        /// <summary>One receipt notice; sends the batch when it is full.</summary>
        public void Add(uint imageId, int index, byte kind, long receivedAtMs, int copiesSent)
        {
            bool full;
            lock (_batch)
            {
                if (_batch.Count > 0 && _batch.ImageId != imageId) Flush(true);
                long now = _clock.NowMs;
                if (_lastMs >= 0 && now - _lastMs < 10000) _gapMs = (3 * _gapMs + (int)(now - _lastMs)) / 4;
                _lastMs = now;
                if (_batch.Count == 0) _sinceMs = now;
                _batch.Add(_self, imageId, index, kind, receivedAtMs, now, copiesSent);
                full = _batch.IsFull;
            }
            if (full) Flush(true);
        }

        /// <summary>Sends the batched notices (one NoticeBatch on the device's out topic): all of them when
        /// <paramref name="now"/>, else only once the oldest waited long enough (<see cref="HoldMs"/>).</summary>
        public void Flush(bool now)
        {
            lock (_batch)
            {
                if (_batch.Count == 0 || (!now && _clock.NowMs - _sinceMs < HoldMs)) return;
                int n = _batch.Length;
                _batch.Clear();
                _mqtt.PublishAtMostOnce(_topicOut, _batch.Buffer, 0, n);
            }
        }

        /// <summary>How long the open batch may wait: twice the smoothed gap between notices, within the configured
        /// bounds (0 when the minimum is 0).</summary>
        private int HoldMs
        {
            get
            {
                if (_holdMinMs <= 0) return 0;
                int h = 2 * _gapMs;
                return h < _holdMinMs ? _holdMinMs : h > _holdMaxMs ? _holdMaxMs : h;
            }
        }
    }
}
