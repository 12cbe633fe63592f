namespace IotOta.Shared.Protocol
{
    /// <summary>
    /// Sent by a device to the gateway after it received a minimum unit (original or relay copy) and forwarded its copies.
    /// Carries the device's own receive time and the time forwarding finished (device clock, ms).
    /// </summary>
    public sealed class ReceiptNotice
    {
        // Reused for every message this instance parses or encodes: no allocation per message.
        private WireReader _reader;
        private WireWriter _writer;

        public const byte KindOriginal = 0;
        public const byte KindRelay = 1;
        public const int EncodedLength = WireHeader.Length + 4 + 4 + 4 + 1 + 8 + 8 + 2;

        public uint NodeId;
        public uint ImageId;
        public int Index;
        public byte Kind;
        public long ReceiveTimeMs;
        public long ForwardedTimeMs;
        public int CopiesSent;

        public int Encode(byte[] buffer, int offset)
        {
            WireWriter w = WireWriter.Reuse(ref _writer, buffer, offset, buffer.Length - offset);
            return Encode(w);
        }

        public int Encode(WireWriter w)
        {
            int start = w.Length;
            WireHeader.Write(w, MessageType.ReceiptNotice);
            w.WriteUInt32(NodeId);
            w.WriteUInt32(ImageId);
            w.WriteUInt32((uint)Index);
            w.WriteByte(Kind);
            w.WriteInt64(ReceiveTimeMs);
            w.WriteInt64(ForwardedTimeMs);
            w.WriteUInt16(CopiesSent > 65535 ? 65535 : CopiesSent);
            return w.Length - start;
        }

        public void Parse(byte[] buffer, int offset, int count)
        {
            WireReader r = WireReader.Reuse(ref _reader, buffer, offset, count);
            WireHeader.Expect(r, MessageType.ReceiptNotice);
            NodeId = r.ReadUInt32();
            ImageId = r.ReadUInt32();
            uint index = r.ReadUInt32();
            if (index >= Manifest.MaxChunkCount) throw WireReader.OutOfRange("notice index", index);
            Index = (int)index;
            Kind = r.ReadByte();
            if (Kind > KindRelay) throw WireReader.OutOfRange("notice kind", Kind);
            ReceiveTimeMs = r.ReadInt64();
            ForwardedTimeMs = r.ReadInt64();
            CopiesSent = r.ReadUInt16();
            r.ExpectEnd("receipt notice");
        }
    }
}
