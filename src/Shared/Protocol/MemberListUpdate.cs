namespace IotOta.Shared.Protocol
{
    /// <summary>
    /// The gateway's current member list of one group (every device's node id and peer socket address), with an epoch
    /// that grows on every join or leave. A device keeps the newest epoch it has seen.
    /// </summary>
    public sealed class MemberListUpdate
    {
        // Reused for every message this instance parses or encodes: no allocation per message.
        private WireReader _reader;
        private WireWriter _writer;

        public const int MaxMembers = 1024;
        public const int EntryLength = 10;

        public int GroupId;
        public uint Epoch;
        public int Count;
        /// <summary>The group's copy-tree fan-out (docs/protocol.md "Copy trees inside a group"): 1..32, sent as an
        /// optional 2-byte tail ('F', fanout); 0 = no tail, the full mesh (every member copies to every other).</summary>
        public int Fanout;
        public const int MaxFanout = 32;
        public const byte FanoutTag = 0x46; // 'F'
        public const int FanoutTailLength = 2;
        /// <summary>The fan-out the gateway plans for a group by default: one connection in from the parent, two out.</summary>
        public const int DefaultFanout = 2;
        public uint[] NodeIds = new uint[0];
        public uint[] Ips = new uint[0];
        public int[] Ports = new int[0];

        public static int EncodedLength(int count)
        {
            return WireHeader.Length + 2 + 4 + 2 + count * EntryLength;
        }

        /// <summary>Bytes of a list of <paramref name="count"/> members with the fan-out tail.</summary>
        public static int EncodedLength(int count, int fanout)
        {
            return EncodedLength(count) + (fanout > 0 ? FanoutTailLength : 0);
        }

        public int Encode(byte[] buffer, int offset)
        {
            if (Count < 0 || Count > MaxMembers) throw WireReader.OutOfRange("member count", Count);
            if (Fanout < 0 || Fanout > MaxFanout) throw WireReader.OutOfRange("fanout", Fanout);
            WireWriter w = WireWriter.Reuse(ref _writer, buffer, offset, buffer.Length - offset);
            WireHeader.Write(w, MessageType.MemberList);
            w.WriteUInt16(GroupId);
            w.WriteUInt32(Epoch);
            w.WriteUInt16(Count);
            for (int i = 0; i < Count; i++)
            {
                w.WriteUInt32(NodeIds[i]);
                w.WriteUInt32(Ips[i]);
                w.WriteUInt16(Ports[i]);
            }
            if (Fanout > 0)
            {
                w.WriteByte(FanoutTag);
                w.WriteByte((byte)Fanout);
            }
            return w.Length;
        }

        public byte[] ToBytes()
        {
            byte[] b = new byte[EncodedLength(Count, Fanout)];
            Encode(b, 0);
            return b;
        }

        /// <summary>Parses into this instance, growing its arrays only when a list is longer than any seen before.</summary>
        public void Parse(byte[] buffer, int offset, int count)
        {
            WireReader r = WireReader.Reuse(ref _reader, buffer, offset, count);
            WireHeader.Expect(r, MessageType.MemberList);
            int group = r.ReadUInt16();
            uint epoch = r.ReadUInt32();
            int n = r.ReadUInt16();
            if (n > MaxMembers) throw WireReader.OutOfRange("member count", n);
            int tail = r.Remaining - n * EntryLength;
            bool hasTail = tail == FanoutTailLength && buffer[offset + count - 2] == FanoutTag;
            if (tail != 0 && !hasTail)
            {
                throw new ProtocolException(r.Remaining < n * EntryLength ? ProtocolError.Truncated : ProtocolError.TrailingBytes,
                    "member list of " + n + " entries needs " + (n * EntryLength) + " bytes, has " + r.Remaining);
            }
            int fanout = hasTail ? buffer[offset + count - 1] : 0;
            if (hasTail && (fanout < 1 || fanout > MaxFanout)) throw WireReader.OutOfRange("fanout", fanout);
            EnsureCapacity(n);
            for (int i = 0; i < n; i++)
            {
                NodeIds[i] = r.ReadUInt32();
                Ips[i] = r.ReadUInt32();
                Ports[i] = r.ReadUInt16();
            }
            if (hasTail)
            {
                r.ReadByte();
                r.ReadByte();
            }
            Fanout = fanout;
            GroupId = group;
            Epoch = epoch;
            Count = n;
        }

        public void EnsureCapacity(int n)
        {
            if (NodeIds.Length >= n) return;
            NodeIds = new uint[n];
            Ips = new uint[n];
            Ports = new int[n];
        }
    }
}
