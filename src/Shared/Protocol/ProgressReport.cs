namespace IotOta.Shared.Protocol
{
    /// <summary>A device's state, running version, and which packets of the current image it holds (bitmap, bit set = held).</summary>
    public sealed class ProgressReport
    {
        // Reused for every message this instance parses or encodes: no allocation per message.
        private WireReader _reader;
        private WireWriter _writer;

        public const int FixedLength = WireHeader.Length + 4 + 4 + 1 + 6 + 4 + 4 + 2;

        public uint NodeId;
        public uint ImageId;
        public DeviceState State;
        public FirmwareVersion RunningVersion;
        public int ChunkCount;
        public int HeldCount;
        /// <summary>Bitmap bytes (ceil(ChunkCount/8)); on parse, a view into the source buffer.</summary>
        public byte[] BitmapBuffer;
        public int BitmapOffset;

        public static int EncodedLength(int chunkCount)
        {
            return FixedLength + IotOta.Shared.Chunking.PacketBitmap.ByteLength(chunkCount);
        }

        public int Encode(byte[] buffer, int offset)
        {
            WireWriter w = WireWriter.Reuse(ref _writer, buffer, offset, buffer.Length - offset);
            WireHeader.Write(w, MessageType.ProgressReport);
            w.WriteUInt32(NodeId);
            w.WriteUInt32(ImageId);
            w.WriteByte((byte)State);
            (RunningVersion ?? FirmwareVersion.Zero).Write(w);
            w.WriteUInt32((uint)ChunkCount);
            w.WriteUInt32((uint)HeldCount);
            // Nothing held or everything held: the bitmap is implied by the counts and not sent (0 bytes; issue #15:
            // reports stay compact, the bitmap goes only while it says something).
            int n = HeldCount == 0 || HeldCount == ChunkCount ? 0 : IotOta.Shared.Chunking.PacketBitmap.ByteLength(ChunkCount);
            w.WriteUInt16(n);
            if (n > 0) w.WriteBytes(BitmapBuffer, BitmapOffset, n);
            return w.Length;
        }

        public void Parse(byte[] buffer, int offset, int count)
        {
            WireReader r = WireReader.Reuse(ref _reader, buffer, offset, count);
            WireHeader.Expect(r, MessageType.ProgressReport);
            NodeId = r.ReadUInt32();
            ImageId = r.ReadUInt32();
            byte s = r.ReadByte();
            if (s > (byte)DeviceState.RolledBack) throw WireReader.OutOfRange("device state", s);
            State = (DeviceState)s;
            RunningVersion = FirmwareVersion.Read(r);
            uint cc = r.ReadUInt32();
            if (cc > Manifest.MaxChunkCount) throw WireReader.OutOfRange("progress chunk count", cc);
            ChunkCount = (int)cc;
            uint held = r.ReadUInt32();
            if (held > cc) throw WireReader.OutOfRange("progress held count", held);
            HeldCount = (int)held;
            int n = r.ReadUInt16();
            bool implied = n == 0 && (held == 0 || held == cc);
            if (!implied && n != IotOta.Shared.Chunking.PacketBitmap.ByteLength(ChunkCount)) throw new ProtocolException(ProtocolError.LengthMismatch, "progress bitmap of " + n + " bytes does not fit " + ChunkCount + " packets");
            BitmapBuffer = implied ? null : buffer;
            BitmapOffset = r.Skip(n, "progress bitmap");
            r.ExpectEnd("progress report");
        }

        public bool Holds(int index)
        {
            if (index < 0 || index >= ChunkCount) return false;
            if (BitmapBuffer == null) return HeldCount == ChunkCount; // implied: none or all held
            return (BitmapBuffer[BitmapOffset + (index >> 3)] & (1 << (index & 7))) != 0;
        }
    }
}
