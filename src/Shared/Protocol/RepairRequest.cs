namespace IotOta.Shared.Protocol
{
    /// <summary>
    /// A device asks a peer (second network) or, when no peer has them, the gateway (first network) for the packets
    /// it misses. The bitmap has a bit set for every packet the requester is missing.
    /// </summary>
    public sealed class RepairRequest
    {
        // Reused for every message this instance parses or encodes: no allocation per message.
        private WireReader _reader;
        private WireWriter _writer;

        public const int FixedLength = WireHeader.Length + 4 + 4 + 4 + 2 + 2;

        public uint NodeId;
        public uint ImageId;
        public int ChunkCount;
        /// <summary>How many packets the requester wants at most in answer to this request.</summary>
        public int MaxReplies;
        public byte[] MissingBuffer;
        public int MissingOffset;

        public static int EncodedLength(int chunkCount)
        {
            return FixedLength + IotOta.Shared.Chunking.PacketBitmap.ByteLength(chunkCount);
        }

        public int Encode(byte[] buffer, int offset)
        {
            WireWriter w = WireWriter.Reuse(ref _writer, buffer, offset, buffer.Length - offset);
            WireHeader.Write(w, MessageType.RepairRequest);
            w.WriteUInt32(NodeId);
            w.WriteUInt32(ImageId);
            w.WriteUInt32((uint)ChunkCount);
            w.WriteUInt16(MaxReplies);
            int n = IotOta.Shared.Chunking.PacketBitmap.ByteLength(ChunkCount);
            w.WriteUInt16(n);
            w.WriteBytes(MissingBuffer, MissingOffset, n);
            return w.Length;
        }

        public void Parse(byte[] buffer, int offset, int count)
        {
            WireReader r = WireReader.Reuse(ref _reader, buffer, offset, count);
            WireHeader.Expect(r, MessageType.RepairRequest);
            NodeId = r.ReadUInt32();
            ImageId = r.ReadUInt32();
            uint cc = r.ReadUInt32();
            if (cc == 0 || cc > Manifest.MaxChunkCount) throw WireReader.OutOfRange("repair chunk count", cc);
            ChunkCount = (int)cc;
            MaxReplies = r.ReadUInt16();
            int n = r.ReadUInt16();
            if (n != IotOta.Shared.Chunking.PacketBitmap.ByteLength(ChunkCount)) throw new ProtocolException(ProtocolError.LengthMismatch, "repair bitmap of " + n + " bytes does not fit " + ChunkCount + " packets");
            MissingBuffer = buffer;
            MissingOffset = r.Skip(n, "repair bitmap");
            r.ExpectEnd("repair request");
        }

        public bool IsMissing(int index)
        {
            if (index < 0 || index >= ChunkCount) return false;
            return (MissingBuffer[MissingOffset + (index >> 3)] & (1 << (index & 7))) != 0;
        }
    }
}
