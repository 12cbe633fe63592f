using IotOta.Shared.Chunking;
using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Copies
{
    /// <summary>
    /// This group's relay-tree table (<see cref="RelayTree"/>) and the tree relay copies owed while it is missing
    /// (one bit per packet: copies down a relay tree that came before the table, relayed on once it arrives).
    /// A table parses into a spare first, so a bad table never replaces a good one. Not thread-safe: the agent guards it.
    /// </summary>
    public sealed class RelayTreeTable
    {
        /// <summary>Offer: the table was taken.</summary>
        public const int Taken = 0;
        /// <summary>Offer: the table names another group.</summary>
        public const int OtherGroup = 1;
        /// <summary>Offer: a newer table for the same image is held already.</summary>
        public const int Older = 2;

        private RelayTree _tree = new RelayTree();
        private RelayTree _spare = new RelayTree();
        private byte[] _owed = new byte[0];
        private int _owedCount;

        /// <summary>The table held (ChildCount 0 when none).</summary>
        public RelayTree Table { get { return _tree; } }
        /// <summary>Packets whose tree relay copies are owed.</summary>
        public int OwedCount { get { return _owedCount; } }

        /// <summary>A table for this image naming child groups is held.</summary>
        public bool HasTable(uint imageId)
        {
            return _tree.ImageId == imageId && _tree.ChildCount > 0;
        }

        /// <summary>The gateway took the table back (an empty retained message).</summary>
        public void Withdraw()
        {
            _tree.ChildCount = 0;
        }

        /// <summary>Parses a table (ProtocolException when it does not parse) and keeps it when it names this group
        /// and is not older than the one held for the same image. Returns Taken, OtherGroup or Older.</summary>
        public int Offer(byte[] buffer, int offset, int count, int groupId)
        {
            _spare.Parse(buffer, offset, count);
            if (_spare.GroupId != groupId) return OtherGroup;
            if (_tree.ImageId == _spare.ImageId && _tree.Epoch > _spare.Epoch) return Older;
            RelayTree t = _tree;
            _tree = _spare;
            _spare = t;
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
