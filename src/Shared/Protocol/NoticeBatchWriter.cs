namespace IotOta.Shared.Protocol
{
    /// <summary>
    /// A device's <see cref="NoticeBatch"/> built in place: each notice is written straight into the message buffer
    /// (8 bytes), so a batch costs its wire bytes and nothing more — no per-entry arrays. Capacity is the device's
    /// choice (1 … <see cref="NoticeBatch.MaxEntries"/>); the bytes are exactly what <see cref="NoticeBatch.Encode"/>
    /// writes for the same notices; compact, those of a <see cref="MessageType.CompactNoticeBatch"/>. Not thread-safe.
    /// </summary>
    public sealed class NoticeBatchWriter
    {
        private readonly byte[] _buf;
        private readonly int _capacity;
        private readonly bool _compact;
        private readonly int _header;
        private long _baseMs;

        public NoticeBatchWriter(int capacity) : this(capacity, false) { }

        /// <summary>A writer of NoticeBatches, or with <paramref name="compact"/> of CompactNoticeBatches (what a device
        /// sends: its out topic names it).</summary>
        public NoticeBatchWriter(int capacity, bool compact)
        {
            if (capacity < 1 || capacity > NoticeBatch.MaxEntries) throw WireReader.OutOfRange("notice batch capacity", capacity);
            _capacity = capacity;
            _compact = compact;
            _header = compact ? NoticeBatch.CompactHeaderLength : NoticeBatch.HeaderLength;
            _buf = new byte[_header + NoticeBatch.EntryLength * capacity];
        }

        /// <summary>Notices in the batch.</summary>
        public int Count;
        /// <summary>The image the batch's notices are for (valid while Count > 0).</summary>
        public uint ImageId;
        public bool IsFull { get { return Count >= _capacity; } }
        public int Capacity { get { return _capacity; } }
        /// <summary>The message (<see cref="Length"/> bytes from 0).</summary>
        public byte[] Buffer { get { return _buf; } }
        public int Length { get { return _header + NoticeBatch.EntryLength * Count; } }

        /// <summary>Adds one notice; the first one sets node, image and base time. False when full.</summary>
        public bool Add(uint nodeId, uint imageId, int index, byte kind, long receiveTimeMs, long forwardedTimeMs, int copiesSent)
        {
            if (Count >= _capacity) return false;
            if (index < 0 || index >= Manifest.MaxChunkCount) throw WireReader.OutOfRange("notice index", index);
            if (kind > ReceiptNotice.KindRelay) throw WireReader.OutOfRange("notice kind", kind);
            if (Count == 0)
            {
                _buf[0] = WireHeader.Magic0;
                _buf[1] = WireHeader.Magic1;
                MessageType type = _compact ? MessageType.CompactNoticeBatch : MessageType.NoticeBatch;
                _buf[2] = WireHeader.VersionOf(type);
                _buf[3] = (byte)type;
                int at0 = 4;
                if (!_compact)
                {
                    Put(4, (int)(nodeId & 0xFFFF));
                    Put(6, (int)(nodeId >> 16));
                    at0 = 8;
                }
                Put(at0, (int)(imageId & 0xFFFF));
                Put(at0 + 2, (int)(imageId >> 16));
                int timeBytes = _compact ? 4 : 8;
                for (int b = 0; b < timeBytes; b++) _buf[at0 + 4 + b] = (byte)(receiveTimeMs >> (8 * b));
                ImageId = imageId;
                _baseMs = receiveTimeMs;
            }
            int at = _header + NoticeBatch.EntryLength * Count;
            Put(at, index | (kind == ReceiptNotice.KindRelay ? 0x8000 : 0));
            Put(at + 2, Saturate(receiveTimeMs - _baseMs));
            Put(at + 4, Saturate(forwardedTimeMs - receiveTimeMs));
            Put(at + 6, copiesSent > 65535 ? 65535 : copiesSent < 0 ? 0 : copiesSent);
            Count++;
            _buf[_header - 1] = (byte)Count;
            return true;
        }

        public void Clear() { Count = 0; }

        private void Put(int at, int v)
        {
            _buf[at] = (byte)v;
            _buf[at + 1] = (byte)(v >> 8);
        }

        private static int Saturate(long v) { return v < 0 ? 0 : v > 65535 ? 65535 : (int)v; }
    }
}
