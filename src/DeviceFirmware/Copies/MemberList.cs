using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Copies
{
    /// <summary>
    /// The members of this device's group as the gateway last announced them (newest epoch wins). Fixed capacity,
    /// allocates nothing after construction. Not thread-safe: the agent guards it.
    /// </summary>
    public sealed class MemberList
    {
        private readonly uint[] _nodes;
        private readonly uint[] _ips;
        private readonly int[] _ports;
        private int _count;
        private bool _hasEpoch;
        private WireReader _reader;

        public MemberList(int capacity)
        {
            _nodes = new uint[capacity];
            _ips = new uint[capacity];
            _ports = new int[capacity];
        }

        public int Count { get { return _count; } }
        public uint Epoch { get; private set; }
        public int GroupId { get; private set; }
        /// <summary>The group's copy-tree fan-out from the gateway (0: full mesh, every member copies to all).</summary>
        public int Fanout { get; private set; }

        public uint NodeAt(int i) { return _nodes[i]; }
        public uint IpAt(int i) { return _ips[i]; }
        public int PortAt(int i) { return _ports[i]; }

        /// <summary>Applies an update for this group when its epoch is newer; returns true when the list changed.
        /// Members beyond the capacity are left out.</summary>
        public bool Apply(MemberListUpdate update, int myGroup)
        {
            if (update.GroupId != myGroup) return false;
            if (_hasEpoch && update.Epoch <= Epoch) return false;
            Dropped = false;
            for (int i = 0; _hasEpoch && i < _count && !Dropped; i++)
            {
                bool found = false;
                for (int j = 0; j < update.Count && !found; j++) found = update.NodeIds[j] == _nodes[i];
                Dropped = !found;
            }
            int n = update.Count < _nodes.Length ? update.Count : _nodes.Length;
            for (int i = 0; i < n; i++)
            {
                _nodes[i] = update.NodeIds[i];
                _ips[i] = update.Ips[i];
                _ports[i] = update.Ports[i];
            }
            Took(update.GroupId, update.Epoch, update.Fanout, n, true);
            return true;
        }

        /// <summary>Applies an encoded member-list message (<see cref="MemberListUpdate"/>'s wire form) for this
        /// group when its epoch is newer, reading it straight into the fixed arrays: a list longer than the capacity
        /// costs no RAM (the rest is left out). ProtocolException when it does not parse (the list is unchanged).
        /// Returns true when the list changed.</summary>
        public bool Apply(byte[] buffer, int offset, int count, int myGroup)
        {
            WireReader r = WireReader.Reuse(ref _reader, buffer, offset, count);
            WireHeader.Expect(r, MessageType.MemberList);
            int group = r.ReadUInt16();
            uint epoch = r.ReadUInt32();
            int n = r.ReadUInt16();
            if (n > MemberListUpdate.MaxMembers) throw WireReader.OutOfRange("member count", n);
            if (r.Remaining < n * MemberListUpdate.EntryLength)
            {
                // bytes after the entries are an optional tail of later protocol versions (read by those versions)
                throw new ProtocolException(ProtocolError.Truncated,
                    "member list of " + n + " entries needs " + (n * MemberListUpdate.EntryLength) + " bytes, has " + r.Remaining);
            }
            // the copy-tree fan-out tail ('F', fanout) right after the entries; other trailing bytes are left to the
            // protocol versions that know them
            int fanout = 0;
            if (r.Remaining - n * MemberListUpdate.EntryLength == MemberListUpdate.FanoutTailLength
                && buffer[offset + count - MemberListUpdate.FanoutTailLength] == MemberListUpdate.FanoutTag)
            {
                fanout = buffer[offset + count - 1];
                if (fanout < 1 || fanout > MemberListUpdate.MaxFanout) throw WireReader.OutOfRange("fanout", fanout);
            }
            if (group != myGroup) return false;
            if (_hasEpoch && epoch <= Epoch) return false;
            Dropped = _hasEpoch && AnyLeft(buffer, r.Position, n);
            int kept = n < _nodes.Length ? n : _nodes.Length;
            for (int i = 0; i < kept; i++)
            {
                _nodes[i] = r.ReadUInt32();
                _ips[i] = r.ReadUInt32();
                _ports[i] = r.ReadUInt16();
            }
            Took(group, epoch, fanout, kept, true);
            return true;
        }

        /// <summary>The list now holds <paramref name="kept"/> entries of this group, epoch and fan-out; with
        /// <paramref name="hasEpoch"/> false the next list replaces it whatever its epoch.</summary>
        private void Took(int group, uint epoch, int fanout, int kept, bool hasEpoch)
        {
            _count = kept;
            Epoch = epoch;
            Fanout = fanout;
            GroupId = group;
            _hasEpoch = hasEpoch;
        }

        /// <summary>A restart: the list kept in flash (<see cref="Flash.MemberListStore"/>) replaces this one; returns how
        /// many of its <paramref name="count"/> entries fit (each then comes through <see cref="RestoreEntry"/>). It is
        /// provisional: the next list from the gateway replaces it whatever its epoch (a gateway that restarted counts
        /// epochs from 1 again, and a fleet restarted with it listens on other ports).</summary>
        public int BeginRestore(int group, uint epoch, int fanout, int count)
        {
            int kept = count < _nodes.Length ? count : _nodes.Length;
            Took(group, epoch, fanout, kept, false);
            Dropped = false;
            return kept;
        }

        /// <summary>Entry i (below what <see cref="BeginRestore"/> returned) of a list read back from flash.</summary>
        public void RestoreEntry(int i, uint node, uint ip, int port)
        {
            _nodes[i] = node;
            _ips[i] = ip;
            _ports[i] = port;
        }

        /// <summary>True when the last update applied left out a device the list named before (a group mate left).</summary>
        public bool Dropped { get; private set; }

        /// <summary>True when a node of the current list is not among the n encoded entries at <paramref name="at"/>
        /// (node id first in each, little-endian). Reads the buffer in place: no RAM.</summary>
        private bool AnyLeft(byte[] buffer, int at, int n)
        {
            for (int i = 0; i < _count; i++)
            {
                uint node = _nodes[i];
                bool found = false;
                for (int j = 0, p = at; j < n && !found; j++, p += MemberListUpdate.EntryLength)
                {
                    found = (uint)(buffer[p] | (buffer[p + 1] << 8) | (buffer[p + 2] << 16) | (buffer[p + 3] << 24)) == node;
                }
                if (!found) return true;
            }
            return false;
        }

        /// <summary>Index of the node in the list, or -1.</summary>
        public int IndexOf(uint node)
        {
            for (int i = 0; i < _count; i++)
            {
                if (_nodes[i] == node) return i;
            }
            return -1;
        }
    }
}
