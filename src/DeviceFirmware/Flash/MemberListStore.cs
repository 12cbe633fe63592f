using IotOta.DeviceFirmware.Copies;
using IotOta.DeviceFirmware.Ports;
using IotOta.Shared.Chunking;
using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Flash
{
    /// <summary>
    /// Keeps the group's member list across a restart, in the boot-data partition's sectors after the two the boot
    /// record alternates between: an 8-byte header (u32 length, u32 CRC-32 of the message) and the MemberListUpdate
    /// message as it came from the gateway. The message is written before its header, so a power cut during a save
    /// leaves no record (read as none), never a torn list. A device that restarts (after an install, or a crash) thus
    /// needs its list from nobody: with a session that kept its subscriptions the broker sends it nothing again, where
    /// a retained list of 111 members cost 1.1 KB per device per restart (issue #15). A partition with no room after
    /// the boot record's sectors, or a list longer than the room, is simply not kept (the broker's retained list is
    /// then what a restart gets, as before).
    /// </summary>
    public sealed class MemberListStore
    {
        /// <summary>The first sector of the partition the store uses (0 and 1 hold the boot record).</summary>
        public const int FirstSector = 2;
        public const int HeaderLength = 8;
        private const int FixedLength = 12; // header 4, group 2, epoch 4, count 2
        private readonly IFlashPartition _part;
        private readonly int _base;
        private readonly byte[] _head = new byte[HeaderLength];

        public MemberListStore(IFlashPartition partition)
        {
            _part = partition;
            _base = FirstSector * partition.SectorSize;
        }

        /// <summary>Bytes of a message the store can keep (0 when the partition has no sector for it).</summary>
        public int Room
        {
            get
            {
                int room = _part.Size - _base - HeaderLength;
                return room > 0 ? room : 0;
            }
        }

        /// <summary>Keeps the encoded list in buffer[offset..offset+count) (it parsed and was applied); false when it
        /// does not fit — the record kept before is then erased, so a restart never brings back an older list.</summary>
        public bool Save(byte[] buffer, int offset, int count)
        {
            if (Room == 0) return false;
            if (count < FixedLength || count > Room)
            {
                _part.Erase(_base, _part.SectorSize);
                return false;
            }
            int sector = _part.SectorSize;
            int span = (HeaderLength + count + sector - 1) / sector * sector;
            _part.Erase(_base, span);
            _part.Write(_base + HeaderLength, buffer, offset, count);
            uint crc = Crc32.Compute(buffer, offset, count);
            Put(0, (uint)count);
            Put(4, crc);
            _part.Write(_base, _head, 0, HeaderLength);
            return true;
        }

        /// <summary>Loads the kept list of group <paramref name="group"/> into <paramref name="list"/>, reading it through
        /// <paramref name="scratch"/> (at least 16 bytes; no RAM that grows with the list). False when there is none,
        /// it is torn or another group's.</summary>
        public bool Restore(MemberList list, int group, byte[] scratch)
        {
            if (Room == 0 || scratch.Length < 16) return false;
            _part.Read(_base, _head, 0, HeaderLength);
            int length = (int)Get(0);
            if (length < FixedLength || length > Room) return false;
            uint crc = 0;
            for (int at = 0; at < length; at += scratch.Length)
            {
                int n = length - at < scratch.Length ? length - at : scratch.Length;
                _part.Read(_base + HeaderLength + at, scratch, 0, n);
                crc = Crc32.Update(crc, scratch, 0, n);
            }
            if (crc != Get(4)) return false;
            _part.Read(_base + HeaderLength, scratch, 0, FixedLength);
            if (scratch[0] != WireHeader.Magic0 || scratch[1] != WireHeader.Magic1 || scratch[3] != (byte)MessageType.MemberList) return false;
            int g = scratch[4] | (scratch[5] << 8);
            uint epoch = U32(scratch, 6);
            int count = scratch[10] | (scratch[11] << 8);
            int entries = count * MemberListUpdate.EntryLength;
            int tail = length - FixedLength - entries;
            if (g != group || tail < 0) return false;
            int fanout = 0;
            if (tail == MemberListUpdate.FanoutTailLength)
            {
                _part.Read(_base + HeaderLength + FixedLength + entries, scratch, 0, 2);
                if (scratch[0] == MemberListUpdate.FanoutTag) fanout = scratch[1];
            }
            int kept = list.BeginRestore(group, epoch, fanout, count);
            int per = scratch.Length / MemberListUpdate.EntryLength;
            for (int i = 0; i < kept; i += per)
            {
                int n = kept - i < per ? kept - i : per;
                _part.Read(_base + HeaderLength + FixedLength + i * MemberListUpdate.EntryLength, scratch, 0, n * MemberListUpdate.EntryLength);
                for (int j = 0; j < n; j++)
                {
                    int p = j * MemberListUpdate.EntryLength;
                    list.RestoreEntry(i + j, U32(scratch, p), U32(scratch, p + 4), scratch[p + 8] | (scratch[p + 9] << 8));
                }
            }
            return true;
        }

        private static uint U32(byte[] b, int p)
        {
            return (uint)(b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24));
        }

        private void Put(int at, uint v)
        {
            _head[at] = (byte)v;
            _head[at + 1] = (byte)(v >> 8);
            _head[at + 2] = (byte)(v >> 16);
            _head[at + 3] = (byte)(v >> 24);
        }

        private uint Get(int at)
        {
            return U32(_head, at);
        }
    }
}
