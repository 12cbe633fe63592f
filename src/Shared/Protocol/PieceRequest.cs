namespace IotOta.Shared.Protocol
{
    /// <summary>
    /// Protocol v2: a device that misses control data asks for it — a peer first (second network), the gateway last
    /// (on its out topic). <see cref="WhatRoot"/>: the image's <see cref="ImageRoot"/> (First and Count 0);
    /// <see cref="WhatHashPieces"/>: Count hash-list pieces from First on, answered with one <see cref="HashPiece"/> each;
    /// <see cref="WhatRelayTable"/>: the requester's group's <see cref="RelayTree"/> table (First and Count 0), asked of the
    /// gateway by a device that got the table's <see cref="RelayTreeDigest"/> but not the table.
    /// 17 bytes.
    /// </summary>
    public sealed class PieceRequest
    {
        public const int EncodedLength = WireHeader.Length + 4 + 4 + 1 + 2 + 2;
        public const byte WhatRoot = 0;
        public const byte WhatHashPieces = 1;
        public const byte WhatRelayTable = 2;
        /// <summary>Most pieces one request asks for.</summary>
        public const int MaxCount = 64;

        private WireReader _reader;
        private WireWriter _writer;

        public uint NodeId;
        public uint ImageId;
        public byte What;
        public int First;
        public int Count;

        public int Encode(byte[] buffer, int offset)
        {
            Check(What, First, Count);
            WireWriter w = WireWriter.Reuse(ref _writer, buffer, offset, buffer.Length - offset);
            WireHeader.Write(w, MessageType.PieceRequest);
            w.WriteUInt32(NodeId);
            w.WriteUInt32(ImageId);
            w.WriteByte(What);
            w.WriteUInt16(First);
            w.WriteUInt16(Count);
            return w.Length;
        }

        private static void Check(int what, int first, int count)
        {
            if (what > WhatRelayTable) throw WireReader.OutOfRange("piece request kind", what);
            if ((what == WhatRoot || what == WhatRelayTable) && (first != 0 || count != 0)) throw WireReader.OutOfRange("root request first/count", first | count);
            if (what == WhatHashPieces && (count < 1 || count > MaxCount)) throw WireReader.OutOfRange("piece request count", count);
            if (first < 0 || first >= Manifest.MaxChunkCount) throw WireReader.OutOfRange("piece request first", first);
        }

        public void Parse(byte[] buffer, int offset, int count)
        {
            WireReader r = WireReader.Reuse(ref _reader, buffer, offset, count);
            WireHeader.Expect(r, MessageType.PieceRequest);
            uint node = r.ReadUInt32();
            uint image = r.ReadUInt32();
            byte what = r.ReadByte();
            int first = r.ReadUInt16();
            int n = r.ReadUInt16();
            r.ExpectEnd("piece request");
            Check(what, first, n);
            NodeId = node;
            ImageId = image;
            What = what;
            First = first;
            Count = n;
        }
    }
}
