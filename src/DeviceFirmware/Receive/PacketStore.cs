using IotOta.DeviceFirmware.Agent;
using IotOta.DeviceFirmware.Flash;
using IotOta.DeviceFirmware.Ports;
using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Receive
{
    /// <summary>
    /// Where verified packets go: the image sink (the inactive slot) and, for a sequential-only sink, the staging area
    /// in flash for packets that arrive ahead of its write position. Not thread-safe: the agent guards it.
    /// </summary>
    public sealed class PacketStore
    {
        private readonly IImageSink _sink;
        private readonly StagingArea _staging;
        /// <summary>Staged packets move into the sink through a buffer of this many bytes, piece by piece.</summary>
        public const int PieceLength = 256;
        private readonly byte[] _piece;
        private readonly DeviceCounters _counters;

        /// <param name="sink">null: random-offset writes into the slot (<see cref="RandomOffsetSink"/>).</param>
        /// <param name="staging">For a sequential-only sink: the partition early packets wait in (null: none, such
        /// packets are dropped and repaired later).</param>
        public PacketStore(IFlashLayout flash, IImageSink sink, IFlashPartition staging, int maxChunkSize, DeviceCounters counters)
        {
            _sink = sink == null ? new RandomOffsetSink(flash) : sink;
            if (_sink.SequentialOnly)
            {
                if (staging != null) _staging = new StagingArea(staging, maxChunkSize);
                _piece = new byte[maxChunkSize < PieceLength ? maxChunkSize : PieceLength];
            }
            _counters = counters;
        }

        public IImageSink Sink { get { return _sink; } }
        public bool SequentialOnly { get { return _sink.SequentialOnly; } }
        /// <summary>The staging area, or null (random-offset sink, or no staging partition).</summary>
        public StagingArea Staging { get { return _staging; } }
        /// <summary>Packets the staging area can hold (0 without one).</summary>
        public int StagingCapacity { get { return _staging == null ? 0 : _staging.Capacity; } }
        public int StagedCount { get { return _staging == null ? 0 : _staging.Count; } }
        /// <summary>A new image of imageSize bytes into slot: the sink starts over, staging is emptied.</summary>
        public void Begin(int slot, int imageSize)
        {
            _sink.Begin(slot, imageSize);
            if (_staging != null) _staging.Reset();
        }

        /// <summary>Puts a verified packet into the sink, or for a sequential sink that is not at its offset yet into
        /// staging. False when staging is full (the packet is dropped and will be repaired).</summary>
        public bool Store(Manifest m, int idx, byte[] buffer, int offset, int count)
        {
            int at = m.ChunkOffset(idx);
            if (!_sink.SequentialOnly || at == _sink.NextOffset)
            {
                _sink.Write(at, buffer, offset, count);
                return true;
            }
            if (_staging == null || !_staging.Put(m.ImageId, idx, buffer, offset, count))
            {
                _counters.StagingFullDrops++;
                return false;
            }
            _counters.PacketsStaged++;
            if (_staging.Count > _counters.StagingHighWater) _counters.StagingHighWater = _staging.Count;
            return true;
        }

        /// <summary>Moves staged packets into a sequential sink while the next one it needs is staged. Order on flash:
        /// write into the sink (in pieces of PieceLength bytes), then free the entry; a cut in between leaves a copy that the resume frees.</summary>
        public void Drain(Manifest m)
        {
            if (_staging == null || !_sink.SequentialOnly) return;
            while (_sink.NextOffset < (int)m.ImageSize && _staging.Count > 0)
            {
                int next = _sink.NextOffset / m.ChunkSize;
                int e = _staging.Find(next);
                if (e < 0) return;
                int len = m.ChunkLength(next);
                int at = m.ChunkOffset(next);
                for (int done = 0; done < len; done += _piece.Length)
                {
                    int n = len - done < _piece.Length ? len - done : _piece.Length;
                    _staging.ReadAt(e, done, _piece, 0, n);
                    _sink.Write(at + done, _piece, 0, n);
                }
                _staging.Free(e);
                _counters.StagingDrained++;
            }
        }

        /// <summary>Reads count bytes of held packet index, from byte at of it, into buffer at offset: from staging when
        /// it waits there, else from slot.</summary>
        public void ReadChunkPart(Manifest m, IFlashPartition slot, int index, int at, byte[] buffer, int offset, int count)
        {
            if (at < 0 || count < 0 || at + count > m.ChunkLength(index))
                throw new FlashException("bytes " + at + "+" + count + " outside packet " + index);
            int staged = _staging == null ? -1 : _staging.Find(index);
            if (staged >= 0) _staging.ReadAt(staged, at, buffer, offset, count);
            else slot.Read(m.ChunkOffset(index) + at, buffer, offset, count);
        }

        /// <summary>Reads held packet index into buffer at offset: from staging when it waits there, else from slot.</summary>
        public void ReadChunk(Manifest m, IFlashPartition slot, int index, byte[] buffer, int offset)
        {
            int len = m.ChunkLength(index);
            int staged = _staging == null ? -1 : _staging.Find(index);
            if (staged >= 0) _staging.Read(staged, buffer, offset, len);
            else slot.Read(m.ChunkOffset(index), buffer, offset, len);
        }
    }
}
