using IotOta.DeviceFirmware.Ports;
using IotOta.Shared.Chunking;
using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Flash
{
    /// <summary>
    /// Persists the update in progress: the signed manifest and which packets are held, so a device that restarts
    /// resumes instead of starting over. Layout: a 16-byte header (magic, manifest length, bitmap offset, CRC of the
    /// manifest) written last, the manifest at 16, and from the next sector a bitmap in which a cleared bit means
    /// "held" (marking a packet only clears bits, so it needs no erase).
    /// </summary>
    public sealed class UpdateStateStore
    {
        public const uint Magic = 0x53554F49; // "IOUS"
        private const int HeaderLength = 16;
        private const int ManifestOffset = HeaderLength;

        private readonly IFlashPartition _part;
        private readonly byte[] _header = new byte[HeaderLength];
        private readonly byte[] _one = new byte[1];
        private int _bitmapOffset;
        private int _chunkCount;

        public UpdateStateStore(IFlashPartition partition)
        {
            _part = partition;
        }

        private int BitmapOffsetFor(int manifestLength)
        {
            int s = _part.SectorSize;
            return (ManifestOffset + manifestLength + s - 1) / s * s;
        }

        /// <summary>Where the relay-tree table lives: the last whole sectors of the partition, kept out of the update
        /// state (see Copies.RelayTreeTable).</summary>
        public int TreeRegionOffset
        {
            get
            {
                int s = _part.SectorSize;
                return _part.Size - (RelayTree.MaxEncodedLength + s - 1) / s * s;
            }
        }

        /// <summary>True when a manifest of this length with this many packets fits the partition (before the
        /// relay-tree table's region).</summary>
        public bool Fits(int manifestLength, int chunkCount)
        {
            return BitmapOffsetFor(manifestLength) + PacketBitmap.ByteLength(chunkCount) <= TreeRegionOffset;
        }

        /// <summary>Starts a new update: erases what is needed, stores the manifest, then the header.</summary>
        public void Begin(byte[] manifest, int offset, int length, int chunkCount)
        {
            if (!Fits(length, chunkCount)) throw new FlashException("manifest of " + length + " bytes does not fit the update-state partition");
            int bitmapOffset = BitmapOffsetFor(length);
            int end = bitmapOffset + PacketBitmap.ByteLength(chunkCount);
            int s = _part.SectorSize;
            _part.Erase(0, (end + s - 1) / s * s);
            _part.Write(ManifestOffset, manifest, offset, length);
            WireWriter w = new WireWriter(_header);
            w.WriteUInt32(Magic);
            w.WriteUInt32((uint)length);
            w.WriteUInt32((uint)bitmapOffset);
            w.WriteUInt32(Crc32.Compute(manifest, offset, length));
            _part.Write(0, _header, 0, HeaderLength);
            _bitmapOffset = bitmapOffset;
            _chunkCount = chunkCount;
        }

        /// <summary>Length of the stored manifest, or 0 when there is no valid stored update.</summary>
        public int StoredManifestLength()
        {
            _part.Read(0, _header, 0, HeaderLength);
            WireReader r = new WireReader(_header, 0, HeaderLength);
            if (r.ReadUInt32() != Magic) return 0;
            uint len = r.ReadUInt32();
            uint bitmap = r.ReadUInt32();
            if (len == 0 || len > (uint)_part.Size || bitmap != (uint)BitmapOffsetFor((int)len)) return 0;
            return (int)len;
        }

        /// <summary>Reads the stored manifest into buffer (StoredManifestLength() bytes); false when its CRC fails.</summary>
        public bool ReadManifest(byte[] buffer, int offset, int length)
        {
            _part.Read(ManifestOffset, buffer, offset, length);
            WireReader r = new WireReader(_header, 12, 4);
            return r.ReadUInt32() == Crc32.Compute(buffer, offset, length);
        }

        /// <summary>Where the stored manifest's chunk-hash list starts in the partition (see <see cref="HashListStore"/>).</summary>
        public int HashListOffset { get { return ManifestOffset + Manifest.ChunkHashesOffset; } }

        /// <summary>The partition the update state lives in.</summary>
        public IFlashPartition Partition { get { return _part; } }

        /// <summary>Reads count bytes of the stored manifest from byte at of it.</summary>
        public void ReadManifestPart(int at, byte[] buffer, int offset, int count)
        {
            _part.Read(ManifestOffset + at, buffer, offset, count);
        }

        /// <summary>True when the stored manifest (length bytes, see StoredManifestLength) matches the CRC in its
        /// header, read through scratch piece by piece (no RAM that grows with the manifest).</summary>
        public bool ManifestCrcMatches(int length, byte[] scratch)
        {
            uint crc = 0;
            for (int at = 0; at < length; at += scratch.Length)
            {
                int n = length - at < scratch.Length ? length - at : scratch.Length;
                _part.Read(ManifestOffset + at, scratch, 0, n);
                crc = Crc32.Update(crc, scratch, 0, n);
            }
            WireReader r = new WireReader(_header, 12, 4);
            return r.ReadUInt32() == crc;
        }

        /// <summary>After ReadManifest: binds the bitmap for chunkCount packets and loads it into held.</summary>
        public void LoadHeld(int manifestLength, PacketBitmap held)
        {
            _bitmapOffset = BitmapOffsetFor(manifestLength);
            _chunkCount = held.Count;
            byte[] bits = held.Bytes;
            _part.Read(_bitmapOffset, bits, 0, bits.Length);
            for (int i = 0; i < bits.Length; i++) bits[i] = (byte)~bits[i];
            held.LoadFrom(bits, 0);
        }

        /// <summary>Records that packet index is held (clears its bit in flash).</summary>
        public void MarkHeld(int index)
        {
            if (index < 0 || index >= _chunkCount) throw new FlashException("packet index " + index + " outside the stored update");
            int at = _bitmapOffset + (index >> 3);
            _part.Read(at, _one, 0, 1);
            _one[0] = (byte)(_one[0] & ~(1 << (index & 7)));
            _part.Write(at, _one, 0, 1);
        }

        /// <summary>Forgets the stored update.</summary>
        public void Clear()
        {
            _part.Erase(0, _part.SectorSize);
            _chunkCount = 0;
        }
    }
}
