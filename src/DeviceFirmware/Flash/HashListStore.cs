using IotOta.DeviceFirmware.Ports;
using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Flash
{
    /// <summary>
    /// The chunk-hash list of the image being received, kept in flash and never in RAM: 32 bytes per chunk in a region
    /// of a partition, read back (32 bytes) whenever a packet is checked. The region is filled as a whole (the list
    /// inside a stored manifest, <see cref="UpdateStateStore"/>) or piece by piece with <see cref="WritePiece"/> as
    /// pieces arrive (each checked by the caller first; the region is erased before the first piece and each entry is
    /// written once). An entry still blank (all 0xFF) is absent: no packet matches it. Not thread-safe.
    /// </summary>
    public sealed class HashListStore
    {
        private readonly byte[] _entry = new byte[Manifest.HashLength];
        private IFlashPartition _part;
        private int _offset;
        private int _count;

        /// <summary>Chunks the bound list covers (0 when unbound).</summary>
        public int Count { get { return _count; } }

        /// <summary>Bytes of flash a list of chunkCount hashes needs.</summary>
        public static int RegionLength(int chunkCount)
        {
            return chunkCount * Manifest.HashLength;
        }

        /// <summary>The list of chunkCount hashes lies at offset in partition (erased, or already written).</summary>
        public void Bind(IFlashPartition partition, int offset, int chunkCount)
        {
            if (offset < 0 || (long)offset + RegionLength(chunkCount) > partition.Size)
                throw new FlashException("hash list of " + chunkCount + " chunks at " + offset + " does not fit partition " + partition.Name);
            _part = partition;
            _offset = offset;
            _count = chunkCount;
        }

        /// <summary>No list.</summary>
        public void Unbind()
        {
            _part = null;
            _count = 0;
        }

        /// <summary>Writes count hashes (32 bytes each, from buffer at offset) for chunks first … first+count-1.</summary>
        public void WritePiece(int first, byte[] buffer, int offset, int count)
        {
            if (_part == null || first < 0 || count < 0 || first + count > _count)
                throw new FlashException("hash-list piece " + first + "+" + count + " outside the list of " + _count);
            _part.Write(_offset + first * Manifest.HashLength, buffer, offset, count * Manifest.HashLength);
        }

        /// <summary>Reads the hash of chunk index into output at outputOffset.</summary>
        public void Read(int index, byte[] output, int outputOffset)
        {
            if (_part == null || index < 0 || index >= _count) throw new FlashException("chunk " + index + " outside the hash list of " + _count);
            _part.Read(_offset + index * Manifest.HashLength, output, outputOffset, Manifest.HashLength);
        }

        /// <summary>True when the list holds chunk index's hash (its entry is not blank).</summary>
        public bool IsPresent(int index)
        {
            if (_part == null || index < 0 || index >= _count) return false;
            Read(index, _entry, 0);
            return !Blank(_entry);
        }

        /// <summary>True when hash (32 bytes at hashOffset) is chunk index's entry, read from flash now. A blank
        /// (absent) entry matches nothing.</summary>
        public bool Matches(int index, byte[] hash, int hashOffset)
        {
            if (_part == null || index < 0 || index >= _count) return false;
            Read(index, _entry, 0);
            if (Blank(_entry)) return false;
            for (int i = 0; i < Manifest.HashLength; i++)
            {
                if (_entry[i] != hash[hashOffset + i]) return false;
            }
            return true;
        }

        private static bool Blank(byte[] e)
        {
            for (int i = 0; i < e.Length; i++)
            {
                if (e[i] != 0xFF) return false;
            }
            return true;
        }
    }
}
