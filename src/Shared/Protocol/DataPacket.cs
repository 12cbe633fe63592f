namespace IotOta.Shared.Protocol
{
    /// <summary>
    /// An <b>original</b> (a minimum-unit packet sent by the gateway) or a <b>copy</b> (the same chunk sent by a peer).
    /// A reusable instance: <see cref="Parse"/> fills it without allocating; the payload stays in the source buffer.
    /// </summary>
    public sealed class DataPacket
    {
        // Reused for every message this instance parses or encodes: no allocation per message.
        private WireReader _reader;

        public const int MaxTargets = 8;
        /// <summary>Copy flag: the receiver is the minimum unit for its own group and copies it to its members.</summary>
        public const byte FlagRelay = 0x01;
        /// <summary>Copy flag: sent in answer to a repair request.</summary>
        public const byte FlagRepair = 0x02;
        /// <summary>Relay tree. On an original: the relay copies to the named targets carry this flag too. On a relay
        /// copy: the receiver also relays the packet on to its group's tree children (<see cref="RelayTree"/>).</summary>
        public const byte FlagTree = 0x04;
        /// <summary>Copy flag: an in-group copy tree (docs/protocol.md "Copy trees inside a group"). A u16 span follows
        /// the targets: the receiver passes the chunk on to the next <see cref="Span"/> members after it in its member
        /// list (ring order), split among up to the group's fan-out children.</summary>
        public const byte FlagSpan = 0x08;
        public const int SpanLength = 2;
        /// <summary>Offset of the span field in a copy with FlagSpan and no targets.</summary>
        public const int SpanOffset = WireHeader.Length + 4 + 4 + 1 + 4 + 1;
        /// <summary>Protocol v2 (issue #15): the payload is a <see cref="HashPiece"/> of the image's chunk-hash list, not a
        /// chunk; <see cref="Index"/> is the piece number. It travels like data (original, relay copy, member copy) and
        /// is checked against the signed <see cref="ImageRoot"/> instead of a chunk hash. (Bit 3 is issue #14's span.)</summary>
        public const byte FlagHashPiece = 0x10;
        /// <summary>Silent relays (issue #15). On an original: the relays it names send no receipt notice (the root's
        /// notice stands for them at the gateway), and its relay copies carry this flag on. On a relay copy: the
        /// receiver sends no notice for it unless it is its first minimum unit of the image. A device that predates
        /// it ignores the bit and notices as before.</summary>
        public const byte FlagSilentRelays = 0x20;
        /// <summary>Protocol v2 (issue #15), on a copy between members: the payload is the group's <see cref="RelayTree"/>
        /// table, not a chunk (<see cref="Index"/> 0). The gateway sends the table to one member and every member a
        /// <see cref="RelayTreeDigest"/>; the table goes down the copy tree (with <see cref="FlagSpan"/>) and a receiver
        /// takes it only when it matches that digest. A device that predates it reads a copy of chunk 0 whose hash does
        /// not match, and drops it.</summary>
        public const byte FlagTable = 0x40;
        /// <summary>Silent trees (issue #15), with <see cref="FlagSilentRelays"/> on an original down a relay tree: the
        /// interior relays (those whose table passes the packet on to other groups) send no receipt notice either; the
        /// gateway reckons when each is through and settles its children then. Relay copies carry it on. A receiver
        /// that still owes the tree copies (no table yet) and a device that predates it notice as before.</summary>
        public const byte FlagSilentTree = 0x80;
        public const int FixedLength = WireHeader.Length + 4 + 4 + 1 + 4 + 1 + 4;
        public const int TargetLength = 10;
        /// <summary>Offset of the flags byte from the start of an encoded packet.</summary>
        public const int FlagsOffset = WireHeader.Length + 4 + 4;

        public MessageType Type;
        public uint ImageId;
        public int Index;
        public byte Flags;
        /// <summary>Node that sent this packet; 0 for the gateway.</summary>
        public uint SenderNode;
        public int TargetCount;
        public readonly uint[] TargetNode = new uint[MaxTargets];
        public readonly uint[] TargetIp = new uint[MaxTargets];
        public readonly int[] TargetPort = new int[MaxTargets];
        public byte[] PayloadBuffer;
        public int PayloadOffset;
        public int PayloadLength;
        /// <summary>With FlagSpan: how many members after the receiver it must get the chunk to (0 = none).</summary>
        public int Span;

        public bool IsOriginal { get { return Type == MessageType.Original; } }
        public bool IsRelay { get { return Type == MessageType.Copy && (Flags & FlagRelay) != 0; } }
        /// <summary>The receiver must act as its group's minimum unit: an original, or a cross-group relay copy.</summary>
        public bool IsMinimumUnit { get { return IsOriginal || IsRelay; } }
        /// <summary>The packet travels down a relay tree (see <see cref="FlagTree"/>).</summary>
        public bool IsTree { get { return (Flags & FlagTree) != 0; } }
        /// <summary>A copy down this group's copy tree (<see cref="FlagSpan"/>).</summary>
        public bool IsSpan { get { return Type == MessageType.Copy && (Flags & FlagSpan) != 0; } }

        public static int EncodedLength(int targetCount, int payloadLength)
        {
            return FixedLength + targetCount * TargetLength + payloadLength;
        }

        public void Parse(byte[] buffer, int offset, int count)
        {
            WireReader r = WireReader.Reuse(ref _reader, buffer, offset, count);
            Type = WireHeader.ExpectEither(r, MessageType.Original, MessageType.Copy);
            ImageId = r.ReadUInt32();
            uint index = r.ReadUInt32();
            if (index >= Manifest.MaxChunkCount) throw WireReader.OutOfRange("packet index", index);
            Index = (int)index;
            Flags = r.ReadByte();
            SenderNode = r.ReadUInt32();
            int tc = r.ReadByte();
            if (tc > MaxTargets) throw WireReader.OutOfRange("copy target count", tc);
            for (int i = 0; i < tc; i++)
            {
                TargetNode[i] = r.ReadUInt32();
                TargetIp[i] = r.ReadUInt32();
                TargetPort[i] = r.ReadUInt16();
            }
            TargetCount = tc;
            Span = (Flags & FlagSpan) != 0 ? r.ReadUInt16() : 0;
            uint len = r.ReadUInt32();
            if (len > Manifest.MaxChunkSize) throw WireReader.OutOfRange("payload length", len);
            if (len != (uint)r.Remaining)
            {
                throw new ProtocolException(len > (uint)r.Remaining ? ProtocolError.Truncated : ProtocolError.TrailingBytes,
                    "payload length " + len + " does not match the " + r.Remaining + " bytes that follow");
            }
            PayloadBuffer = buffer;
            PayloadOffset = r.Position;
            PayloadLength = (int)len;
        }

        /// <summary>Writes everything but the payload bytes; returns the absolute offset where the payload must go.
        /// The caller writes exactly payloadLength bytes there.</summary>
        public static int WriteHeader(WireWriter w, MessageType type, uint imageId, int index, byte flags, uint sender,
            int targetCount, uint[] targetNode, uint[] targetIp, int[] targetPort, int payloadLength)
        {
            return WriteHeader(w, type, imageId, index, flags, sender, targetCount, targetNode, targetIp, targetPort, payloadLength, 0);
        }

        /// <summary>As above; with <see cref="FlagSpan"/> in flags the span field is written (0..65535).</summary>
        public static int WriteHeader(WireWriter w, MessageType type, uint imageId, int index, byte flags, uint sender,
            int targetCount, uint[] targetNode, uint[] targetIp, int[] targetPort, int payloadLength, int span)
        {
            WriteHeaderOnly(w, type, imageId, index, flags, sender, targetCount, targetNode, targetIp, targetPort, payloadLength, span);
            return w.Reserve(payloadLength);
        }

        /// <summary>Writes the header of a packet whose payload of payloadLength bytes follows elsewhere (a device
        /// streams it from flash); returns the header's length. The bytes are those of <see cref="WriteHeader"/>.</summary>
        public static int WriteHeaderOnly(WireWriter w, MessageType type, uint imageId, int index, byte flags, uint sender,
            int targetCount, uint[] targetNode, uint[] targetIp, int[] targetPort, int payloadLength)
        {
            return WriteHeaderOnly(w, type, imageId, index, flags, sender, targetCount, targetNode, targetIp, targetPort, payloadLength, 0);
        }

        /// <summary>As above; with <see cref="FlagSpan"/> in flags the span field is written (0..65535).</summary>
        public static int WriteHeaderOnly(WireWriter w, MessageType type, uint imageId, int index, byte flags, uint sender,
            int targetCount, uint[] targetNode, uint[] targetIp, int[] targetPort, int payloadLength, int span)
        {
            if (span < 0 || span > 65535) throw WireReader.OutOfRange("span", span);
            if (type != MessageType.Original && type != MessageType.Copy) throw WireReader.OutOfRange("data packet type", (int)type);
            if (targetCount < 0 || targetCount > MaxTargets) throw WireReader.OutOfRange("copy target count", targetCount);
            if (payloadLength < 0 || payloadLength > Manifest.MaxChunkSize) throw WireReader.OutOfRange("payload length", payloadLength);
            WireHeader.Write(w, type);
            w.WriteUInt32(imageId);
            w.WriteUInt32((uint)index);
            w.WriteByte(flags);
            w.WriteUInt32(sender);
            w.WriteByte((byte)targetCount);
            for (int i = 0; i < targetCount; i++)
            {
                w.WriteUInt32(targetNode[i]);
                w.WriteUInt32(targetIp[i]);
                w.WriteUInt16(targetPort[i]);
            }
            if ((flags & FlagSpan) != 0) w.WriteUInt16(span);
            w.WriteUInt32((uint)payloadLength);
            return w.Length;
        }

        /// <summary>Writes a whole packet with its payload; returns the bytes written.</summary>
        public static int Write(WireWriter w, MessageType type, uint imageId, int index, byte flags, uint sender,
            int targetCount, uint[] targetNode, uint[] targetIp, int[] targetPort, byte[] payload, int payloadOffset, int payloadLength)
        {
            int start = w.Length;
            int at = WriteHeader(w, type, imageId, index, flags, sender, targetCount, targetNode, targetIp, targetPort, payloadLength);
            System.Array.Copy(payload, payloadOffset, w.Buffer, at, payloadLength);
            return w.Length - start;
        }
    }
}
