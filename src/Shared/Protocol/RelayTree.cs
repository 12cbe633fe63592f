namespace IotOta.Shared.Protocol
{
    /// <summary>
    /// One group's place in the rollout's relay trees (retained on <c>iotota/grp/{g}/tree</c>, learned once per
    /// rollout): for packets of tree <see cref="Tree"/> (packet index mod <see cref="TreeCount"/>), a device of this
    /// group that receives a relay copy flagged <see cref="DataPacket.FlagTree"/> relays it on to one device of each
    /// child group: candidate <see cref="CandidateIndex"/> of that child's list. The gateway fills the candidate
    /// lists (a device may appear more than once, in proportion to its forwarding rate) and predicts with the same
    /// rule who will receive each packet. A reusable instance: Parse fills fixed arrays and allocates nothing.
    /// </summary>
    public sealed class RelayTree
    {
        private WireReader _reader;
        private WireWriter _writer;

        public const int MaxTrees = 8;
        public const int MaxChildren = DataPacket.MaxTargets;
        public const int MaxCandidates = 32;
        public const int FixedLength = WireHeader.Length + 4 + 2 + 4 + 1 + 1 + 1;
        public const int ChildHeaderLength = 3;
        public const int CandidateLength = 10;
        public const int MaxEncodedLength = FixedLength + MaxChildren * (ChildHeaderLength + MaxCandidates * CandidateLength);

        public uint ImageId;
        public int GroupId;
        /// <summary>Grows whenever the gateway rebuilds the trees; a device keeps the newest.</summary>
        public uint Epoch;
        /// <summary>How many trees the rollout uses (1..8): packet k travels down tree k mod TreeCount.</summary>
        public int TreeCount = 1;
        /// <summary>The tree in which this group has children.</summary>
        public int Tree;
        public int ChildCount;
        public readonly int[] ChildGroup = new int[MaxChildren];
        public readonly int[] CandidateCount = new int[MaxChildren];
        /// <summary>Candidate j of child c is at slot c·MaxCandidates + j.</summary>
        public readonly uint[] CandidateNode = new uint[MaxChildren * MaxCandidates];
        public readonly uint[] CandidateIp = new uint[MaxChildren * MaxCandidates];
        public readonly int[] CandidatePort = new int[MaxChildren * MaxCandidates];

        public static int EncodedLength(int childCount, int totalCandidates)
        {
            return FixedLength + childCount * ChildHeaderLength + totalCandidates * CandidateLength;
        }

        /// <summary>Which of a child's candidates gets packet index: index mod the list's length. A group sits in every
        /// tree, so over all packets each candidate slot gets an equal share.</summary>
        public static int CandidateIndex(int packetIndex, int candidateCount)
        {
            return packetIndex % candidateCount;
        }

        /// <summary>True when a relay copy of this packet (flagged as a tree packet) must go on to this group's children.</summary>
        public bool RelaysPacket(int packetIndex)
        {
            return ChildCount > 0 && packetIndex % TreeCount == Tree;
        }

        /// <summary>The slot (into the candidate arrays) of the device of child c that gets packet index.</summary>
        public int SlotFor(int child, int packetIndex)
        {
            return child * MaxCandidates + CandidateIndex(packetIndex, CandidateCount[child]);
        }

        public int Encode(byte[] buffer, int offset)
        {
            Validate(TreeCount, Tree, ChildCount);
            int total = 0;
            for (int c = 0; c < ChildCount; c++)
            {
                if (CandidateCount[c] < 1 || CandidateCount[c] > MaxCandidates) throw WireReader.OutOfRange("candidate count", CandidateCount[c]);
                total += CandidateCount[c];
            }
            if (buffer == null || offset < 0 || buffer.Length - offset < EncodedLength(ChildCount, total))
            {
                throw new ProtocolException(ProtocolError.BufferTooSmall, "relay tree needs " + EncodedLength(ChildCount, total) + " bytes");
            }
            WireWriter w = WireWriter.Reuse(ref _writer, buffer, offset, buffer.Length - offset);
            WireHeader.Write(w, MessageType.RelayTree);
            w.WriteUInt32(ImageId);
            w.WriteUInt16(GroupId);
            w.WriteUInt32(Epoch);
            w.WriteByte((byte)TreeCount);
            w.WriteByte((byte)Tree);
            w.WriteByte((byte)ChildCount);
            for (int c = 0; c < ChildCount; c++)
            {
                w.WriteUInt16(ChildGroup[c]);
                w.WriteByte((byte)CandidateCount[c]);
                for (int j = 0; j < CandidateCount[c]; j++)
                {
                    int s = c * MaxCandidates + j;
                    w.WriteUInt32(CandidateNode[s]);
                    w.WriteUInt32(CandidateIp[s]);
                    w.WriteUInt16(CandidatePort[s]);
                }
            }
            return w.Length;
        }

        public byte[] ToBytes()
        {
            int total = 0;
            for (int c = 0; c < ChildCount && c < MaxChildren; c++) total += CandidateCount[c];
            byte[] b = new byte[EncodedLength(ChildCount < 0 ? 0 : ChildCount, total)];
            Encode(b, 0);
            return b;
        }

        /// <summary>Parses into this instance. On an error the instance is left partly written: a device parses into a
        /// spare instance and keeps it only when the parse succeeded.</summary>
        public void Parse(byte[] buffer, int offset, int count)
        {
            WireReader r = WireReader.Reuse(ref _reader, buffer, offset, count);
            WireHeader.Expect(r, MessageType.RelayTree);
            ImageId = r.ReadUInt32();
            GroupId = r.ReadUInt16();
            Epoch = r.ReadUInt32();
            int trees = r.ReadByte();
            int tree = r.ReadByte();
            int children = r.ReadByte();
            Validate(trees, tree, children);
            TreeCount = trees;
            Tree = tree;
            ChildCount = 0;
            for (int c = 0; c < children; c++)
            {
                ChildGroup[c] = r.ReadUInt16();
                int n = r.ReadByte();
                if (n < 1 || n > MaxCandidates) throw WireReader.OutOfRange("candidate count", n);
                if (r.Remaining < n * CandidateLength)
                {
                    throw new ProtocolException(ProtocolError.Truncated, "child " + c + " names " + n + " candidates but only " + r.Remaining + " bytes follow");
                }
                CandidateCount[c] = n;
                for (int j = 0; j < n; j++)
                {
                    int s = c * MaxCandidates + j;
                    CandidateNode[s] = r.ReadUInt32();
                    CandidateIp[s] = r.ReadUInt32();
                    CandidatePort[s] = r.ReadUInt16();
                }
            }
            r.ExpectEnd("relay tree");
            ChildCount = children;
        }

        /// <summary>Copies every field of another instance (no allocation).</summary>
        public void CopyFrom(RelayTree o)
        {
            ImageId = o.ImageId;
            GroupId = o.GroupId;
            Epoch = o.Epoch;
            TreeCount = o.TreeCount;
            Tree = o.Tree;
            ChildCount = o.ChildCount;
            for (int c = 0; c < o.ChildCount; c++)
            {
                ChildGroup[c] = o.ChildGroup[c];
                CandidateCount[c] = o.CandidateCount[c];
                for (int j = 0; j < o.CandidateCount[c]; j++)
                {
                    int s = c * MaxCandidates + j;
                    CandidateNode[s] = o.CandidateNode[s];
                    CandidateIp[s] = o.CandidateIp[s];
                    CandidatePort[s] = o.CandidatePort[s];
                }
            }
        }

        private static void Validate(int trees, int tree, int children)
        {
            if (trees < 1 || trees > MaxTrees) throw WireReader.OutOfRange("tree count", trees);
            if (tree < 0 || tree >= trees) throw WireReader.OutOfRange("tree", tree);
            if (children < 0 || children > MaxChildren) throw WireReader.OutOfRange("child count", children);
        }
    }
}
