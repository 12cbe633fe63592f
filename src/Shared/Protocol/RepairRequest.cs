namespace IotOta.Shared.Protocol
{
    /// <summary>
    /// A device asks a peer (second network) or, when no peer has them, the gateway (first network) for the packets
    /// it misses. The bitmap has a bit set for every packet the requester is missing.
    /// A <b>donor order</b> is the same message sent by the gateway on a donor's in-topic: the donor sends the packets
    /// to the requester. With the optional 8-byte <i>target tail</i> (tag 'X', ip, port, mode) the requester may be a
    /// device of another group: the donor sends to that address, and in mode <see cref="ModeRelay"/> as relay copies
    /// (the requester copies them on inside its group as a minimum unit). A request without the tail stays valid; a
    /// parser that does not know the tail rejects it (trailing bytes), never misreads it.
    /// </summary>
    public sealed class RepairRequest
    {
        // Reused for every message this instance parses or encodes: no allocation per message.
        private WireReader _reader;
        private WireWriter _writer;

        public const int FixedLength = WireHeader.Length + 4 + 4 + 4 + 2 + 2;
        /// <summary>Bytes of the target tail: tag, ip, port, mode.</summary>
        public const int TargetTailLength = 1 + 4 + 2 + 1;
        /// <summary>First byte of the target tail ('X': cross-group).</summary>
        public const byte TargetTag = 0x58;
        /// <summary>Target mode: repair copies to the requester only.</summary>
        public const byte ModeRepair = 0;
        /// <summary>Target mode: relay copies; the requester acts as its group's minimum unit and copies them on.</summary>
        public const byte ModeRelay = 1;

        public uint NodeId;
        public uint ImageId;
        public int ChunkCount;
        /// <summary>How many packets the requester wants at most in answer to this request.</summary>
        public int MaxReplies;
        public byte[] MissingBuffer;
        public int MissingOffset;
        /// <summary>True when the target tail is present (parsed) or is to be written (encode).</summary>
        public bool HasTarget;
        /// <summary>Target tail: where the requester takes peer copies (IPv4 as on the wire, little-endian u32).</summary>
        public uint TargetIp;
        public int TargetPort;
        /// <summary>Target tail: <see cref="ModeRepair"/> or <see cref="ModeRelay"/>.</summary>
        public byte TargetMode;

        public static int EncodedLength(int chunkCount)
        {
            return FixedLength + IotOta.Shared.Chunking.PacketBitmap.ByteLength(chunkCount);
        }

        /// <summary>Length of a donor order with the target tail.</summary>
        public static int EncodedLength(int chunkCount, bool withTarget)
        {
            return EncodedLength(chunkCount) + (withTarget ? TargetTailLength : 0);
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
            if (HasTarget)
            {
                if (TargetMode > ModeRelay) throw WireReader.OutOfRange("repair target mode", TargetMode);
                w.WriteByte(TargetTag);
                w.WriteUInt32(TargetIp);
                w.WriteUInt16(TargetPort);
                w.WriteByte(TargetMode);
            }
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
            HasTarget = false;
            TargetIp = 0;
            TargetPort = 0;
            TargetMode = ModeRepair;
            if (r.Remaining == 0) return;
            if (r.Remaining < TargetTailLength && buffer[r.Position] == TargetTag)
            {
                throw new ProtocolException(ProtocolError.Truncated, "repair request: target tail of " + r.Remaining + " bytes (it is " + TargetTailLength + ")");
            }
            if (r.Remaining != TargetTailLength) throw new ProtocolException(ProtocolError.TrailingBytes, "repair request: " + r.Remaining + " bytes after the bitmap (a target tail is " + TargetTailLength + ")");
            int tag = r.ReadByte();
            if (tag != TargetTag) throw new ProtocolException(ProtocolError.UnsupportedVersion, "repair request: unknown tail tag " + tag);
            uint ip = r.ReadUInt32();
            int port = r.ReadUInt16();
            if (port == 0) throw WireReader.OutOfRange("repair target port", 0);
            int mode = r.ReadByte();
            if (mode > ModeRelay) throw WireReader.OutOfRange("repair target mode", mode);
            HasTarget = true;
            TargetIp = ip;
            TargetPort = port;
            TargetMode = (byte)mode;
        }

        public bool IsMissing(int index)
        {
            if (index < 0 || index >= ChunkCount) return false;
            return (MissingBuffer[MissingOffset + (index >> 3)] & (1 << (index & 7))) != 0;
        }
    }
}
