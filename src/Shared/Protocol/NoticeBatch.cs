namespace IotOta.Shared.Protocol
{
    /// <summary>
    /// Protocol v2: up to <see cref="MaxEntries"/> receipt notices of one device in one message — what v1 sends as one
    /// 35-byte <see cref="ReceiptNotice"/> (plus topic and MQTT framing) per minimum unit. Times are relative: each
    /// entry's receive time is an offset from the batch's base time, its forward-done time an offset from its receive
    /// time (both saturate at 65 535 ms). `21 + 8·count` bytes. Entry i is read with <see cref="Get"/> (no allocation).
    /// <para><see cref="Compact"/>: the same notices as a <see cref="MessageType.CompactNoticeBatch"/> (type 15),
    /// `13 + 8·count` bytes: no node id (the device's out topic names it) and the base time's low 32 bits only (the
    /// gateway takes the high bits from the device's previous batch: <see cref="Unwrap"/>, <see cref="Rebase"/>).</para>
    /// </summary>
    public sealed class NoticeBatch
    {
        public const int HeaderLength = WireHeader.Length + 4 + 4 + 8 + 1;
        public const int CompactHeaderLength = WireHeader.Length + 4 + 4 + 1;
        public const int EntryLength = 8;
        public const int MaxEntries = 32;
        private const int RelayBit = 0x8000;
        private const int IndexMask = 0x3FFF;

        private WireReader _reader;
        private WireWriter _writer;
        private readonly int[] _index = new int[MaxEntries];
        private readonly byte[] _kind = new byte[MaxEntries];
        private readonly long[] _receive = new long[MaxEntries];
        private readonly long[] _forwarded = new long[MaxEntries];
        private readonly int[] _copies = new int[MaxEntries];

        public uint NodeId;
        public uint ImageId;
        public long BaseTimeMs;
        public int Count;
        /// <summary>The layout: <see cref="MessageType.CompactNoticeBatch"/> when true (NodeId is then not on the wire
        /// and 0 after Parse; BaseTimeMs only its low 32 bits until <see cref="Rebase"/>).</summary>
        public bool Compact;

        public static int EncodedLength(int count) { return HeaderLength + EntryLength * count; }

        public static int CompactEncodedLength(int count) { return CompactHeaderLength + EntryLength * count; }

        /// <summary>Sets the full base time (a parsed compact batch carries its low 32 bits); every entry's times move with it.</summary>
        public void Rebase(long baseTimeMs)
        {
            long d = baseTimeMs - BaseTimeMs;
            for (int i = 0; i < Count; i++)
            {
                _receive[i] += d;
                _forwarded[i] += d;
            }
            BaseTimeMs = baseTimeMs;
        }

        /// <summary>The full time whose low 32 bits are <paramref name="low32"/> nearest to <paramref name="nearMs"/>
        /// (a compact batch's base time, from the same device's previous one).</summary>
        public static long Unwrap(long low32, long nearMs)
        {
            return nearMs + (int)((uint)low32 - (uint)nearMs);
        }

        public bool IsFull { get { return Count >= MaxEntries; } }

        /// <summary>Adds one notice; the first one added sets the base time. False when the batch is full.</summary>
        public bool Add(int index, byte kind, long receiveTimeMs, long forwardedTimeMs, int copiesSent)
        {
            if (Count >= MaxEntries) return false;
            if (index < 0 || index >= Manifest.MaxChunkCount) throw WireReader.OutOfRange("notice index", index);
            if (kind > ReceiptNotice.KindRelay) throw WireReader.OutOfRange("notice kind", kind);
            if (Count == 0) BaseTimeMs = receiveTimeMs;
            _index[Count] = index;
            _kind[Count] = kind;
            _receive[Count] = receiveTimeMs;
            _forwarded[Count] = forwardedTimeMs;
            _copies[Count] = copiesSent;
            Count++;
            return true;
        }

        public void Clear() { Count = 0; }

        /// <summary>Entry i as a ReceiptNotice (times back on the device clock, as precise as the offsets allow).</summary>
        public void Get(int i, ReceiptNotice into)
        {
            if (i < 0 || i >= Count) throw WireReader.OutOfRange("notice batch entry", i);
            into.NodeId = NodeId;
            into.ImageId = ImageId;
            into.Index = _index[i];
            into.Kind = _kind[i];
            into.ReceiveTimeMs = _receive[i];
            into.ForwardedTimeMs = _forwarded[i];
            into.CopiesSent = _copies[i];
        }

        private static int Saturate(long v) { return v < 0 ? 0 : v > 65535 ? 65535 : (int)v; }

        public int Encode(byte[] buffer, int offset)
        {
            if (Count < 1) throw WireReader.OutOfRange("notice batch count", Count);
            WireWriter w = WireWriter.Reuse(ref _writer, buffer, offset, buffer.Length - offset);
            if (Compact)
            {
                WireHeader.Write(w, MessageType.CompactNoticeBatch);
                w.WriteUInt32(ImageId);
                w.WriteUInt32((uint)BaseTimeMs);
            }
            else
            {
                WireHeader.Write(w, MessageType.NoticeBatch);
                w.WriteUInt32(NodeId);
                w.WriteUInt32(ImageId);
                w.WriteInt64(BaseTimeMs);
            }
            w.WriteByte((byte)Count);
            for (int i = 0; i < Count; i++)
            {
                w.WriteUInt16(_index[i] | (_kind[i] == ReceiptNotice.KindRelay ? RelayBit : 0));
                w.WriteUInt16(Saturate(_receive[i] - BaseTimeMs));
                w.WriteUInt16(Saturate(_forwarded[i] - _receive[i]));
                w.WriteUInt16(_copies[i] > 65535 ? 65535 : _copies[i]);
            }
            return w.Length;
        }

        /// <summary>Parses into this instance; all checks happen before any field changes.</summary>
        public void Parse(byte[] buffer, int offset, int count)
        {
            WireReader r = WireReader.Reuse(ref _reader, buffer, offset, count);
            bool compact = WireHeader.ExpectEither(r, MessageType.NoticeBatch, MessageType.CompactNoticeBatch) == MessageType.CompactNoticeBatch;
            uint node = compact ? 0 : r.ReadUInt32();
            uint image = r.ReadUInt32();
            long baseMs = compact ? r.ReadUInt32() : r.ReadInt64();
            int n = r.ReadByte();
            if (n < 1 || n > MaxEntries) throw WireReader.OutOfRange("notice batch count", n);
            if (r.Remaining != n * EntryLength)
            {
                throw new ProtocolException(r.Remaining < n * EntryLength ? ProtocolError.Truncated : ProtocolError.TrailingBytes,
                    "notice batch of " + n + " entries needs " + (n * EntryLength) + " bytes after its header, has " + r.Remaining);
            }
            int at = r.Position;
            for (int i = 0; i < n; i++)
            {
                int ik = buffer[at + i * EntryLength] | (buffer[at + i * EntryLength + 1] << 8);
                if ((ik & 0x4000) != 0) throw WireReader.OutOfRange("notice batch entry flags", ik);
            }
            Compact = compact;
            NodeId = node;
            ImageId = image;
            BaseTimeMs = baseMs;
            Count = n;
            for (int i = 0; i < n; i++)
            {
                int ik = r.ReadUInt16();
                _index[i] = ik & IndexMask;
                _kind[i] = (ik & RelayBit) != 0 ? ReceiptNotice.KindRelay : ReceiptNotice.KindOriginal;
                _receive[i] = baseMs + r.ReadUInt16();
                _forwarded[i] = _receive[i] + r.ReadUInt16();
                _copies[i] = r.ReadUInt16();
            }
        }
    }
}
