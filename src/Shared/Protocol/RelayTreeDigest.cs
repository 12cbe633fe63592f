namespace IotOta.Shared.Protocol
{
    /// <summary>
    /// Protocol v2 (issue #15): what the gateway sends every member of a group over MQTT instead of the group's whole
    /// <see cref="RelayTree"/> table: which table (image, group, epoch, length) and the first 16 bytes of SHA-256 over
    /// its encoded bytes. The table itself goes to one member (on its in-topic) and from there down the group's copy tree
    /// over the second network; a device takes a table from a peer only when it matches the digest it got from the
    /// gateway. 32 bytes.
    /// </summary>
    public sealed class RelayTreeDigest
    {
        public const int DigestLength = 16;
        public const int EncodedLength = WireHeader.Length + 4 + 2 + 4 + 2 + DigestLength;

        private WireReader _reader;
        private WireWriter _writer;

        public uint ImageId;
        public int GroupId;
        public uint Epoch;
        /// <summary>Bytes of the table it names: RelayTree.FixedLength .. RelayTree.MaxEncodedLength.</summary>
        public int TableLength;
        /// <summary>SHA-256 of the table's bytes, its first <see cref="DigestLength"/> bytes.</summary>
        public readonly byte[] Digest = new byte[DigestLength];

        public int Encode(byte[] buffer, int offset)
        {
            Check(GroupId, TableLength);
            WireWriter w = WireWriter.Reuse(ref _writer, buffer, offset, buffer.Length - offset);
            WireHeader.Write(w, MessageType.RelayTreeDigest);
            w.WriteUInt32(ImageId);
            w.WriteUInt16(GroupId);
            w.WriteUInt32(Epoch);
            w.WriteUInt16(TableLength);
            w.WriteBytes(Digest, 0, DigestLength);
            return w.Length;
        }

        private static void Check(int group, int length)
        {
            if (group < 0 || group > 0xFFFF) throw WireReader.OutOfRange("group", group);
            if (length < RelayTree.FixedLength || length > RelayTree.MaxEncodedLength) throw WireReader.OutOfRange("table length", length);
        }

        /// <summary>Parses into this instance; on a ProtocolException the fields are unchanged.</summary>
        public void Parse(byte[] buffer, int offset, int count)
        {
            WireReader r = WireReader.Reuse(ref _reader, buffer, offset, count);
            WireHeader.Expect(r, MessageType.RelayTreeDigest);
            uint image = r.ReadUInt32();
            int group = r.ReadUInt16();
            uint epoch = r.ReadUInt32();
            int length = r.ReadUInt16();
            int at = r.Skip(DigestLength, "digest");
            r.ExpectEnd("relay tree digest");
            Check(group, length);
            ImageId = image;
            GroupId = group;
            Epoch = epoch;
            TableLength = length;
            System.Array.Copy(buffer, at, Digest, 0, DigestLength);
        }

        /// <summary>True when <paramref name="sha256"/> (a full 32-byte SHA-256) begins with this digest.</summary>
        public bool Matches(byte[] sha256, int offset)
        {
            for (int i = 0; i < DigestLength; i++)
            {
                if (sha256[offset + i] != Digest[i]) return false;
            }
            return true;
        }
    }
}
