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
        public uint[] NodeIds = new uint[0];
        public uint[] Ips = new uint[0];
        public int[] Ports = new int[0];

        public static int EncodedLength(int count)
        {
            return WireHeader.Length + 2 + 4 + 2 + count * EntryLength;
        }

        public int Encode(byte[] buffer, int offset)
        {
            if (Count < 0 || Count > MaxMembers) throw WireReader.OutOfRange("member count", Count);
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
            return w.Length;
        }

        public byte[] ToBytes()
        {
            byte[] b = new byte[EncodedLength(Count)];
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
            if (r.Remaining != n * EntryLength)
            {
                throw new ProtocolException(r.Remaining < n * EntryLength ? ProtocolError.Truncated : ProtocolError.TrailingBytes,
                    "member list of " + n + " entries needs " + (n * EntryLength) + " bytes, has " + r.Remaining);
            }
            EnsureCapacity(n);
            for (int i = 0; i < n; i++)
            {
                NodeIds[i] = r.ReadUInt32();
                Ips[i] = r.ReadUInt32();
                Ports[i] = r.ReadUInt16();
            }
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
