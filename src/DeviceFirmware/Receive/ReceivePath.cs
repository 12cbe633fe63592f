using IotOta.DeviceFirmware.Agent;
using IotOta.DeviceFirmware.Flash;
using IotOta.DeviceFirmware.Ports;
using IotOta.Shared.Chunking;
using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Receive
{
    /// <summary>
    /// The receive path of one image: the accepted manifest, which packets are held (in RAM and persisted), and each
    /// packet's way in — length and chunk-hash check, then into the sink or staging (<see cref="PacketStore"/>) and
    /// marked held in flash. A packet that fails a check never reaches flash and is never forwarded.
    /// Not thread-safe: the agent calls it under its lock.
    /// </summary>
    public sealed class ReceivePath
    {
        /// <summary>Take: not (or no longer) the image being received; a replay, harmless.</summary>
        public const int Stale = 0;
        /// <summary>Take: index or length do not fit the manifest.</summary>
        public const int Invalid = 1;
        /// <summary>Take: the payload's hash is not the manifest's.</summary>
        public const int BadHash = 2;
        /// <summary>Take: verified but dropped (staging full); it will be repaired.</summary>
        public const int Dropped = 3;
        /// <summary>Take: verified, written and marked held.</summary>
        public const int Stored = 4;
        /// <summary>Take: already held.</summary>
        public const int Duplicate = 5;
        /// <summary>Take: protocol v2, the hash-list piece that covers this packet has not arrived yet, so it cannot
        /// be checked: dropped before it touches flash (it will be repaired), and no fault of the sender.</summary>
        public const int NoHashYet = 6;

        private readonly IHashPort _hash;
        private readonly IClock _clock;
        private readonly DeviceCounters _counters;
        private readonly UpdateStateStore _store;
        private readonly PacketStore _packets;
        private readonly int _maxChunkSize;
        private readonly HashListStore _hashes = new HashListStore();
        private readonly byte[] _hashOut = new byte[Manifest.HashLength];
        private Manifest _manifest;
        private PacketBitmap _held;
        private IFlashPartition _imageSlot;

        public ReceivePath(IFlashPartition updateState, PacketStore packets, IHashPort hash, IClock clock, int maxChunkSize, DeviceCounters counters)
        {
            _store = new UpdateStateStore(updateState);
            _packets = packets;
            _hash = hash;
            _clock = clock;
            _maxChunkSize = maxChunkSize;
            _counters = counters;
        }

        /// <summary>The image being received or served, or null.</summary>
        public Manifest Manifest { get { return _manifest; } }
        /// <summary>Which packets of it are held (null without a manifest).</summary>
        public PacketBitmap Held { get { return _held; } }
        /// <summary>The slot the image is written to (the inactive one) or served from (the active one after install).</summary>
        public IFlashPartition ImageSlot { get { return _imageSlot; } }
        public UpdateStateStore Store { get { return _store; } }
        /// <summary>The image's chunk-hash list, in flash.</summary>
        public HashListStore Hashes { get { return _hashes; } }
        public PacketStore Packets { get { return _packets; } }
        public IHashPort Hash { get { return _hash; } }
        /// <summary>When the last new packet was stored; before the first, when the update began (the root or manifest
        /// admitted, or the core booted) and again when the chunk-hash list became whole (the gateway sends no data
        /// before every device holds it, so the wait for a packet counts from then).</summary>
        public long LastNewPacketMs;
        /// <summary>Every packet is held: install once forwarding is done.</summary>
        public bool InstallRequested;
        /// <summary>The whole chunk-hash list is in flash (always for a v1 manifest; for a v2 root once every piece
        /// came): only then are missing packets repaired and the image reported as being received.</summary>
        public bool ListComplete = true;

        /// <summary>The last piece of the chunk-hash list came: packets can be verified from now on, so the repair
        /// client's idle wait starts now, not when the root was admitted (the gateway sends data only once every
        /// device holds the list: a device deep in a copy tree asked its peers and the gateway for every packet
        /// before any was sent).</summary>
        public void OnListComplete()
        {
            ListComplete = true;
            if (HeldCount == 0) LastNewPacketMs = _clock.NowMs;
        }

        public int HeldCount { get { return _held == null ? 0 : _held.HeldCount; } }
        public bool IsComplete { get { return _held != null && _held.IsComplete; } }

        public bool Holds(int index)
        {
            return _held != null && index >= 0 && index < _held.Count && _held.Get(index);
        }

        /// <summary>Why a manifest of this length cannot be received into slot (null when it can).</summary>
        public string WhyNotFits(Manifest m, int manifestLength, IFlashPartition slot)
        {
            if (m.ChunkSize > _maxChunkSize) return "chunk size " + m.ChunkSize + " exceeds this device's " + _maxChunkSize;
            if (m.ImageSize > (uint)slot.Size) return "image of " + m.ImageSize + " bytes does not fit slot of " + slot.Size;
            if (!_store.Fits(manifestLength, m.ChunkCount)) return "manifest does not fit the update-state partition";
            return null;
        }

        /// <summary>Starts receiving the image of manifest m (its encoded bytes in buffer) into slot slotIndex.</summary>
        public void Begin(byte[] buffer, int offset, int count, Manifest m, int slotIndex, IFlashPartition slot)
        {
            Begin(buffer, offset, count, count, Manifest.ChunkHashesOffset, m, slotIndex, slot);
        }

        /// <summary>Starts receiving into slot slotIndex an image whose stored form is <paramref name="length"/> bytes,
        /// the first <paramref name="written"/> of them in buffer now (a v2 root: <see cref="Flash.RootForm"/>), its
        /// chunk-hash list at <paramref name="hashListAt"/> in it.</summary>
        public void Begin(byte[] buffer, int offset, int written, int length, int hashListAt, Manifest m, int slotIndex, IFlashPartition slot)
        {
            _packets.Begin(slotIndex, (int)m.ImageSize);
            _store.Begin(buffer, offset, written, length, hashListAt, m.ChunkCount);
            Bind(m, slot);
            ListComplete = written == length;
            InstallRequested = false;
            LastNewPacketMs = _clock.NowMs;
        }

        /// <summary>Holds manifest m (nothing held yet) for the image in slot; its chunk-hash list is the one stored
        /// with it in the update-state partition.</summary>
        public void Bind(Manifest m, IFlashPartition slot)
        {
            _hashes.Bind(_store.Partition, _store.HashListOffset, m.ChunkCount);
            _manifest = m;
            _held = new PacketBitmap(m.ChunkCount);
            _imageSlot = slot;
        }

        /// <summary>No image any more.</summary>
        public void Forget()
        {
            ListComplete = true;
            _manifest = null;
            _held = null;
            _hashes.Unbind();
        }

        /// <summary>True when the chunk in buffer hashes to the list's entry for index (read from flash now).</summary>
        public bool ChunkMatches(Manifest m, int index, byte[] buffer, int offset, int count)
        {
            _hash.ChunkHash(m.HashKind, buffer, offset, count, _hashOut, 0);
            return _hashes.Matches(index, _hashOut, 0);
        }

        /// <summary>True when packet index as stored in <paramref name="part"/> at <paramref name="at"/> (count bytes)
        /// hashes to the list's entry, read through <paramref name="piece"/> (at least 64 bytes) with the streaming
        /// SHA-256 of the hash port: the chunk is never whole in RAM (a restart mid-download checks every held packet
        /// again; a chunk-sized buffer for that was the core's largest allocation). The HMAC kind is computed from its
        /// definition, SHA-256((K xor opad) | SHA-256((K xor ipad) | chunk)), K the public key padded to 64 bytes.</summary>
        public bool StoredChunkMatches(Manifest m, int index, IFlashPartition part, int at, int count, byte[] piece)
        {
            bool hmac = m.HashKind == ChunkHashKind.HmacSha256PublicKey;
            _hash.ImageHashBegin();
            if (hmac)
            {
                KeyPad(piece, 0x36);
                _hash.ImageHashAppend(piece, 0, HmacBlock);
            }
            for (int done = 0; done < count;)
            {
                int n = count - done < piece.Length ? count - done : piece.Length;
                part.Read(at + done, piece, 0, n);
                _hash.ImageHashAppend(piece, 0, n);
                done += n;
            }
            _hash.ImageHashFinish(_hashOut, 0);
            if (hmac)
            {
                KeyPad(piece, 0x5C);
                _hash.ImageHashBegin();
                _hash.ImageHashAppend(piece, 0, HmacBlock);
                _hash.ImageHashAppend(_hashOut, 0, Manifest.HashLength);
                _hash.ImageHashFinish(_hashOut, 0);
            }
            return _hashes.Matches(index, _hashOut, 0);
        }

        /// <summary>SHA-256's block: the HMAC key is padded to it.</summary>
        private const int HmacBlock = 64;

        /// <summary>The first 64 bytes of buffer = the public chunk-hash key (zero-padded) xor pad.</summary>
        private static void KeyPad(byte[] buffer, byte pad)
        {
            string key = ChunkHashKeyText.Value;
            for (int i = 0; i < HmacBlock; i++) buffer[i] = (byte)((i < key.Length ? (byte)key[i] : (byte)0) ^ pad);
        }

        /// <summary>A data packet (parsed): checks it and, when new and valid, stores and marks it. Returns Stale,
        /// Invalid, BadHash, Dropped, Stored or Duplicate.</summary>
        public int Take(DataPacket p)
        {
            Manifest m = _manifest;
            if (m == null || p.ImageId != m.ImageId)
            {
                _counters.StalePackets++;
                return Stale;
            }
            int idx = p.Index;
            if (idx >= m.ChunkCount || p.PayloadLength != m.ChunkLength(idx))
            {
                _counters.MessagesRejected++;
                return Invalid;
            }
            if (p.IsOriginal) _counters.OriginalsReceived++;
            else if (p.IsRelay) _counters.RelaysReceived++;
            else _counters.CopiesReceived++;
            if (_held.Get(idx))
            {
                _counters.DuplicatePackets++;
                return Duplicate;
            }
            if (!ChunkMatches(m, idx, p.PayloadBuffer, p.PayloadOffset, p.PayloadLength))
            {
                if (!ListComplete && !_hashes.IsPresent(idx))
                {
                    _counters.NoHashYetDrops++;
                    return NoHashYet;
                }
                _counters.BadChunkHashes++;
                return BadHash;
            }
            if (!_packets.Store(m, idx, p.PayloadBuffer, p.PayloadOffset, p.PayloadLength)) return Dropped;
            _store.MarkHeld(idx);
            _held.Set(idx);
            _packets.Drain(m);
            _counters.PacketsWritten++;
            LastNewPacketMs = _clock.NowMs;
            return Stored;
        }

        /// <summary>Reads count bytes of held packet index, from byte at of it, into buffer at offset (from staging or
        /// the image slot, wherever it is now).</summary>
        public void ReadChunkPart(int index, int at, byte[] buffer, int offset, int count)
        {
            _packets.ReadChunkPart(_manifest, _imageSlot, index, at, buffer, offset, count);
        }

        /// <summary>Reads held packet index of the image into buffer at offset (from staging or the image slot).</summary>
        public void ReadChunk(int index, byte[] buffer, int offset)
        {
            _packets.ReadChunk(_manifest, _imageSlot, index, buffer, offset);
        }
    }
}
