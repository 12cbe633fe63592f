using IotOta.DeviceFirmware.Ports;
using IotOta.Shared.Chunking;
using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Copies
{
    /// <summary>
    /// This group's relay-tree table (<see cref="RelayTree"/>), kept in flash: RAM holds its header and where each
    /// child group's candidate list lies (a parsed table would take about 3 KB); a candidate (10 bytes) is read back when
    /// a relay copy needs it. A table is checked whole (group, epoch, structure) before it replaces the held one, so a
    /// bad table never replaces a good one. Also the tree relay copies owed while no table is held (one bit per
    /// packet: copies down a relay tree that came before the table, relayed on once it arrives).
    /// Protocol v2 (issue #15): the gateway may send a group at level 1 only the table's <see cref="RelayTreeDigest"/>
    /// (retained, to every member) and the table itself to one member, which passes it down the group's copy tree: a
    /// table that comes from a peer is taken only when it matches the held digest, and a digest of a newer table than
    /// the held one takes the held one back (until the new one comes the device relays nothing on and notices, so it is
    /// never a silent leaf by a table the trees no longer have).
    /// Not thread-safe: the agent guards it.
    /// </summary>
    public sealed class RelayTreeTable
    {
        /// <summary>Offer: the table was taken.</summary>
        public const int Taken = 0;
        /// <summary>Offer: the table names another group.</summary>
        public const int OtherGroup = 1;
        /// <summary>Offer: a newer table for the same image is held already.</summary>
        public const int Older = 2;
        /// <summary>Offer: the table came from a peer and is not the one the held digest names (or no digest is held).</summary>
        public const int Unverified = 3;
        /// <summary>Offer: the very table held already (same image, epoch and bytes): nothing was rewritten.</summary>
        public const int Same = 4;
        /// <summary>Flash a table needs at most (whole sectors of the partition are erased for it).</summary>
        public const int MaxLength = RelayTree.MaxEncodedLength;

        private readonly IFlashPartition _part;
        private readonly int _region;
        private readonly int[] _childAt = new int[RelayTree.MaxChildren];
        private readonly int[] _candidates = new int[RelayTree.MaxChildren];
        private readonly byte[] _entry = new byte[RelayTree.CandidateLength];
        private WireReader _reader;
        private byte[] _owed = new byte[0];
        private int _owedCount;
        private bool _held;
        private readonly IHashPort _hash;
        private RelayTreeDigest _digest = new RelayTreeDigest();
        private RelayTreeDigest _incoming = new RelayTreeDigest(); // parsed into, swapped in when taken
        private bool _digestHeld;
        private readonly byte[] _sha = new byte[32];
        private readonly byte[] _heldSha = new byte[RelayTreeDigest.DigestLength];
        private int _storedLength;

        /// <param name="partition">Where tables are stored: <paramref name="regionOffset"/> starts whole sectors that
        /// hold <see cref="MaxLength"/> bytes and that nothing else uses.</param>
        public RelayTreeTable(IFlashPartition partition, int regionOffset) : this(partition, regionOffset, null)
        {
        }

        /// <param name="hash">SHA-256 of tables, to check them against a <see cref="RelayTreeDigest"/> (null: every
        /// table from a peer is <see cref="Unverified"/>).</param>
        public RelayTreeTable(IFlashPartition partition, int regionOffset, IHashPort hash)
        {
            _part = partition;
            _region = regionOffset;
            _hash = hash;
        }

        public uint ImageId { get; private set; }
        public uint Epoch { get; private set; }
        public int TreeCount { get; private set; }
        public int Tree { get; private set; }
        /// <summary>Child groups (0 when no table is held).</summary>
        public int ChildCount { get; private set; }
        /// <summary>Packets whose tree relay copies are owed.</summary>
        public int OwedCount { get { return _owedCount; } }

        /// <summary>Flash the table region takes in a partition with sectors of sectorSize bytes.</summary>
        public static int RegionLength(int sectorSize)
        {
            return (MaxLength + sectorSize - 1) / sectorSize * sectorSize;
        }

        /// <summary>A table for this image is held: one naming child groups, or an empty one (this group is a leaf of
        /// every tree, and a relay copy down a tree goes no further).</summary>
        public bool HasTable(uint imageId)
        {
            return _held && ImageId == imageId;
        }

        /// <summary>True when a relay copy of this packet (flagged as a tree packet) goes on to this group's children.</summary>
        public bool RelaysPacket(int packetIndex)
        {
            return ChildCount > 0 && packetIndex % TreeCount == Tree;
        }

        /// <summary>Candidates of child c.</summary>
        public int CandidateCount(int child)
        {
            return _candidates[child];
        }

        /// <summary>Reads the device of child c that gets packet index (candidate index mod the child's count).</summary>
        public void Candidate(int child, int packetIndex, out uint node, out uint ip, out int port)
        {
            int j = RelayTree.CandidateIndex(packetIndex, _candidates[child]);
            _part.Read(_region + _childAt[child] + j * RelayTree.CandidateLength, _entry, 0, RelayTree.CandidateLength);
            node = (uint)(_entry[0] | (_entry[1] << 8) | (_entry[2] << 16) | (_entry[3] << 24));
            ip = (uint)(_entry[4] | (_entry[5] << 8) | (_entry[6] << 16) | (_entry[7] << 24));
            port = _entry[8] | (_entry[9] << 8);
        }

        /// <summary>The gateway took the table back (an empty retained message): the table and its digest.</summary>
        public void Withdraw()
        {
            ChildCount = 0;
            _held = false;
            _digestHeld = false;
        }

        /// <summary>A digest of this group's table for the image is held (the table may not be yet).</summary>
        public bool HasDigest(uint imageId)
        {
            return _digestHeld && _digest.ImageId == imageId;
        }

        /// <summary>The held table is the one the held digest names: it goes on to the group (a seed, or a member down
        /// the copy tree).</summary>
        public bool MatchesDigest
        {
            get { return _held && DigestNames(ImageId, Epoch, _storedLength, _heldSha); }
        }

        /// <summary>Bytes of the held table in flash (0 for none or an empty one, which is not stored).</summary>
        public int StoredLength { get { return _held ? _storedLength : 0; } }

        /// <summary>Reads part of the held table back from flash (to pass it on).</summary>
        public void ReadStored(int at, byte[] buffer, int offset, int count)
        {
            _part.Read(_region + at, buffer, offset, count);
        }

        /// <summary>Keeps the gateway's digest of this group's table when it names this group and is not older than the
        /// one held for the same image. A held table of another image or an older epoch is taken back (Withdraw's
        /// table half): the trees changed, and until the named table comes this device must not take itself for a leaf.
        /// Returns Taken, Same (the digest held already), OtherGroup or Older; ProtocolException when it does not parse
        /// (nothing changes).</summary>
        public int OfferDigest(byte[] buffer, int offset, int count, int groupId)
        {
            _incoming.Parse(buffer, offset, count);
            if (_incoming.GroupId != groupId) return OtherGroup;
            if (DigestNames(_incoming.ImageId, _incoming.Epoch, _incoming.TableLength, _incoming.Digest)) return Same;
            if (_digestHeld && _digest.ImageId == _incoming.ImageId && _digest.Epoch > _incoming.Epoch) return Older;
            RelayTreeDigest taken = _incoming;
            _incoming = _digest;
            _digest = taken;
            _digestHeld = true;
            if (_held && (ImageId != _digest.ImageId || Epoch < _digest.Epoch))
            {
                ChildCount = 0;
                _held = false;
            }
            return Taken;
        }

        private bool SameAsHeld()
        {
            for (int i = 0; i < RelayTreeDigest.DigestLength; i++)
            {
                if (_sha[i] != _heldSha[i]) return false;
            }
            return true;
        }

        /// <summary>The held digest names the table of this image, epoch and length whose SHA-256 begins with
        /// <paramref name="sha"/>.</summary>
        private bool DigestNames(uint imageId, uint epoch, int length, byte[] sha)
        {
            return _digestHeld && _digest.ImageId == imageId && _digest.Epoch == epoch && _digest.TableLength == length && _digest.Matches(sha, 0);
        }

        /// <summary>Keeps a table when it names this group and is not older than the one held for the same image:
        /// it is checked whole first (ProtocolException when it does not parse; the held table stays), then stored in
        /// flash. Returns Taken, OtherGroup or Older.</summary>
        public int Offer(byte[] buffer, int offset, int count, int groupId)
        {
            return Offer(buffer, offset, count, groupId, false);
        }

        /// <summary>As <see cref="Offer(byte[], int, int, int)"/>; a table <paramref name="fromPeer"/> (the second network)
        /// is taken only when it is the one the held digest names (<see cref="Unverified"/> otherwise). One from the
        /// gateway (the first network) is taken as before, whatever the digest.</summary>
        public int Offer(byte[] buffer, int offset, int count, int groupId, bool fromPeer)
        {
            WireReader r = WireReader.Reuse(ref _reader, buffer, offset, count);
            WireHeader.Expect(r, MessageType.RelayTree);
            uint imageId = r.ReadUInt32();
            int group = r.ReadUInt16();
            uint epoch = r.ReadUInt32();
            int trees = r.ReadByte();
            int tree = r.ReadByte();
            int children = r.ReadByte();
            if (trees < 1 || trees > RelayTree.MaxTrees) throw WireReader.OutOfRange("tree count", trees);
            if (tree < 0 || tree >= trees) throw WireReader.OutOfRange("tree", tree);
            if (children < 0 || children > RelayTree.MaxChildren) throw WireReader.OutOfRange("child count", children);
            // the whole structure first: nothing changes until the table is known to be good
            int start = r.Position;
            for (int c = 0; c < children; c++)
            {
                r.ReadUInt16();
                int n = r.ReadByte();
                if (n < 1 || n > RelayTree.MaxCandidates) throw WireReader.OutOfRange("candidate count", n);
                if (r.Remaining < n * RelayTree.CandidateLength)
                {
                    throw new ProtocolException(ProtocolError.Truncated, "child " + c + " names " + n + " candidates but only " + r.Remaining + " bytes follow");
                }
                for (int j = 0; j < n; j++)
                {
                    r.ReadUInt32();
                    r.ReadUInt32();
                    r.ReadUInt16();
                }
            }
            r.ExpectEnd("relay tree");
            if (group != groupId) return OtherGroup;
            if (ImageId == imageId && Epoch > epoch) return Older;
            if (_digestHeld && _digest.ImageId == imageId && _digest.Epoch > epoch) return Older; // the trees moved on
            if (_hash != null) _hash.ChunkHash(ChunkHashKind.Sha256, buffer, offset, count, _sha, 0);
            bool named = _hash != null && DigestNames(imageId, epoch, count, _sha);
            if (fromPeer && !named) return Unverified;
            if (_held && _hash != null && ImageId == imageId && Epoch == epoch && _storedLength == (children > 0 ? count : 0) && SameAsHeld()) return Same;
            ChildCount = 0; // no table while flash is rewritten
            _held = false;
            if (children > 0) // an empty table (a leaf of every tree) names nothing to read back: no erase
            {
                _part.Erase(_region, RegionLength(_part.SectorSize));
                _part.Write(_region, buffer, offset, count);
            }
            _storedLength = children > 0 ? count : 0;
            // A table from the gateway of the digest's trees or later that the digest does not name (an empty table,
            // or a whole one for a group that no longer gets a digest) supersedes the digest: nothing is asked for it.
            if (!fromPeer && !named && _digestHeld && _digest.ImageId == imageId && epoch >= _digest.Epoch) _digestHeld = false;
            for (int i = 0; i < RelayTreeDigest.DigestLength; i++) _heldSha[i] = _hash != null ? _sha[i] : (byte)0;
            int at = start - offset;
            for (int c = 0; c < children; c++)
            {
                int n = buffer[offset + at + 2];
                _candidates[c] = n;
                _childAt[c] = at + RelayTree.ChildHeaderLength;
                at += RelayTree.ChildHeaderLength + n * RelayTree.CandidateLength;
            }
            ImageId = imageId;
            Epoch = epoch;
            TreeCount = trees;
            Tree = tree;
            ChildCount = children;
            _held = true;
            return Taken;
        }

        /// <summary>A new image of chunkCount packets: nothing is owed.</summary>
        public void SizeFor(int chunkCount)
        {
            int o = PacketBitmap.ByteLength(chunkCount);
            if (_owed.Length < o) _owed = new byte[o];
            else for (int i = 0; i < _owed.Length; i++) _owed[i] = 0;
            _owedCount = 0;
        }

        /// <summary>Owes the tree relay copies of packet index; false when they were owed already (or index is out of range).</summary>
        public bool Owe(int index)
        {
            int mask = 1 << (index & 7);
            if (index < 0 || index >= _owed.Length * 8 || (_owed[index >> 3] & mask) != 0) return false;
            _owed[index >> 3] = (byte)(_owed[index >> 3] | mask);
            _owedCount++;
            return true;
        }

        public bool IsOwed(int index)
        {
            return index >= 0 && index < _owed.Length * 8 && (_owed[index >> 3] & (1 << (index & 7))) != 0;
        }

        /// <summary>The owed copies of packet index were queued (or need none).</summary>
        public void Settle(int index)
        {
            if (!IsOwed(index)) return;
            _owed[index >> 3] = (byte)(_owed[index >> 3] & ~(1 << (index & 7)));
            _owedCount--;
        }
    }
}
