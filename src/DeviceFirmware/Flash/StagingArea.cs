using IotOta.DeviceFirmware.Ports;
using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Flash
{
    /// <summary>
    /// A bounded staging area on flash (its own partition, never RAM) for packets that arrive ahead of a
    /// sequential sink's write position. The partition is cut into entries of whole sectors, each large enough for
    /// a 16-byte header and one chunk; an entry is written payload first and header last (the header commits it),
    /// and freed by erasing its sectors. Only the entry → packet-index table lives in RAM (4 bytes per entry).
    /// </summary>
    public sealed class StagingArea
    {
        public const uint Magic = 0x47545349; // "ISTG"
        public const int HeaderLength = 16;

        private readonly IFlashPartition _part;
        private readonly int _entrySize;
        private readonly int[] _index;
        private readonly byte[] _header = new byte[HeaderLength];
        private readonly WireWriter _writer;
        private int _count;

        public StagingArea(IFlashPartition partition, int maxChunkSize)
        {
            _part = partition;
            int s = partition.SectorSize;
            _entrySize = (HeaderLength + maxChunkSize + s - 1) / s * s;
            int capacity = partition.Size / _entrySize;
            _index = new int[capacity];
            _writer = new WireWriter(_header);
            for (int i = 0; i < capacity; i++) _index[i] = -1;
        }

        /// <summary>How many packets fit.</summary>
        public int Capacity { get { return _index.Length; } }
        /// <summary>Packets staged now.</summary>
        public int Count { get { return _count; } }
        /// <summary>Most packets staged at once since the last Reset.</summary>
        public int HighWater { get; private set; }
        /// <summary>Bytes of flash one entry takes (whole sectors).</summary>
        public int EntrySize { get { return _entrySize; } }

        /// <summary>Erases every entry (a new image starts).</summary>
        public void Reset()
        {
            if (_index.Length > 0) _part.Erase(0, _index.Length * _entrySize);
            for (int i = 0; i < _index.Length; i++) _index[i] = -1;
            _count = 0;
            HighWater = 0;
        }

        /// <summary>The entry holding packet index, or -1.</summary>
        public int Find(int index)
        {
            for (int i = 0; i < _index.Length; i++)
            {
                if (_index[i] == index) return i;
            }
            return -1;
        }

        /// <summary>The packet index entry e holds, or -1 when it is free.</summary>
        public int IndexAt(int entry)
        {
            return _index[entry];
        }

        /// <summary>Stores one packet; false when every entry is in use.</summary>
        public bool Put(uint imageId, int index, byte[] buffer, int offset, int count)
        {
            int e = -1;
            for (int i = 0; i < _index.Length; i++)
            {
                if (_index[i] < 0) { e = i; break; }
            }
            if (e < 0) return false;
            if (count > _entrySize - HeaderLength) throw new FlashException("packet of " + count + " bytes does not fit a staging entry");
            int at = e * _entrySize;
            _part.Write(at + HeaderLength, buffer, offset, count);
            WireWriter w = _writer;
            w.Reset(_header, 0, HeaderLength);
            w.WriteUInt32(Magic);
            w.WriteUInt32(imageId);
            w.WriteUInt32((uint)index);
            w.WriteUInt32((uint)count);
            _part.Write(at, _header, 0, HeaderLength);
            _index[e] = index;
            _count++;
            if (_count > HighWater) HighWater = _count;
            return true;
        }

        /// <summary>Reads count payload bytes of entry e.</summary>
        public void Read(int entry, byte[] buffer, int offset, int count)
        {
            _part.Read(entry * _entrySize + HeaderLength, buffer, offset, count);
        }

        /// <summary>The partition the entries are in.</summary>
        public IFlashPartition Partition { get { return _part; } }

        /// <summary>Where entry e's payload starts in <see cref="Partition"/>.</summary>
        public int PayloadAt(int entry)
        {
            return entry * _entrySize + HeaderLength;
        }

        /// <summary>Reads count payload bytes of entry e from payload byte at on.</summary>
        public void ReadAt(int entry, int at, byte[] buffer, int offset, int count)
        {
            _part.Read(entry * _entrySize + HeaderLength + at, buffer, offset, count);
        }

        /// <summary>Frees entry e (erases its sectors).</summary>
        public void Free(int entry)
        {
            _part.Erase(entry * _entrySize, _entrySize);
            if (_index[entry] >= 0) _count--;
            _index[entry] = -1;
        }

        /// <summary>After a restart: takes every committed entry of this image whose index is below chunkCount, and
        /// erases every other entry that is not blank (torn, stale or another image's). Returns the number taken;
        /// the caller still checks each taken packet's hash (a torn erase can leave a header standing).</summary>
        public int Load(uint imageId, int chunkCount)
        {
            _count = 0;
            HighWater = 0;
            for (int e = 0; e < _index.Length; e++)
            {
                _index[e] = -1;
                _part.Read(e * _entrySize, _header, 0, HeaderLength);
                WireReader r = new WireReader(_header, 0, HeaderLength);
                uint magic = r.ReadUInt32();
                uint id = r.ReadUInt32();
                uint idx = r.ReadUInt32();
                uint len = r.ReadUInt32();
                if (magic == Magic && id == imageId && idx < (uint)chunkCount && len <= (uint)(_entrySize - HeaderLength) && Find((int)idx) < 0)
                {
                    _index[e] = (int)idx;
                    _count++;
                }
                else
                {
                    _part.Erase(e * _entrySize, _entrySize); // blank headers may still hide a torn payload
                }
            }
            HighWater = _count;
            return _count;
        }
    }
}
