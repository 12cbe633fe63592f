using IotOta.DeviceFirmware.Agent;
using IotOta.DeviceFirmware.Flash;
using IotOta.DeviceFirmware.Ports;
using IotOta.DeviceFirmware.Slots;
using IotOta.Shared.Chunking;
using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Receive
{
    /// <summary>
    /// Resuming after a restart: the stored update (or the running image, served to peers), torn sectors, a
    /// sequential sink. Runs once, at start, under the agent's lock.
    /// </summary>
    public sealed class UpdateResume
    {
        private readonly ReceivePath _rx;
        private readonly SlotLifecycle _life;
        private readonly IFlashLayout _flash;
        private readonly DeviceCounters _counters;
        private readonly DeviceLog _log;
        private readonly int _maxChunkSize;
        private readonly ManifestSignature _signature;

        public UpdateResume(ReceivePath rx, SlotLifecycle life, IFlashLayout flash, int maxChunkSize, ManifestSignature signature,
            DeviceCounters counters, DeviceLog log)
        {
            _signature = signature;
            _rx = rx;
            _life = life;
            _flash = flash;
            _maxChunkSize = maxChunkSize;
            _counters = counters;
            _log = log;
        }

        /// <summary>Protocol v2: where a stored root and its pieces in flash are checked and adopted (set by the agent).</summary>
        public RootAssembly Roots { get; set; }

        /// <summary>The stored update's manifest, checked again at boot with bounded scratch (the
        /// <see cref="ManifestSignature"/>'s piece): its CRC piece by piece, its head and tail decoded (its chunk-hash
        /// list stays in flash), and its signature over the signed bytes as flash holds them now, streamed through the
        /// hash. Null when there is none; a stored manifest that fails any check is cleared (the CRC catches one that a
        /// cut tore, the signature one that was altered or stored under a key this device no longer trusts).</summary>
        public Manifest ReadStored()
        {
            UpdateStateStore store = _rx.Store;
            int len = store.StoredManifestLength();
            if (len == 0) return null;
            byte[] piece = _signature.Piece;
            Manifest m = null;
            store.ReadManifestPart(0, piece, 0, WireHeader.Length);
            if (Roots != null && len > ImageRoot.EncodedLength && WireHeader.Peek(piece, 0, WireHeader.Length) == MessageType.ImageRoot)
            {
                // A v2 root form (Flash.RootForm): the root's CRC, then its signature and every piece in flash against it.
                m = store.ManifestCrcMatches(ImageRoot.EncodedLength, piece) ? Roots.Restore(len) : null;
                if (m == null)
                {
                    _log.Log("stored image root or hash-list piece does not check; cleared");
                    store.Clear();
                }
                return m;
            }
            if (len >= Manifest.ChunkHashesOffset + Manifest.TailLength && store.ManifestCrcMatches(len, piece))
            {
                store.UseHashListAt(Manifest.ChunkHashesOffset);
                store.ReadManifestPart(0, piece, 0, Manifest.ChunkHashesOffset);
                store.ReadManifestPart(len - Manifest.TailLength, piece, Manifest.ChunkHashesOffset, Manifest.TailLength);
                try
                {
                    m = Manifest.DecodeWithoutHashes(piece, 0, Manifest.ChunkHashesOffset, len);
                }
                catch (ProtocolException)
                {
                    m = null;
                }
            }
            if (m == null)
            {
                _log.Log("stored update state is not a valid manifest; cleared");
                store.Clear();
                return null;
            }
            if (!_signature.StoredVerifies(m, store))
            {
                _counters.StoredSignatureFailures++;
                _log.Log("stored manifest's signature does not verify (key " + m.KeyId + "); cleared");
                store.Clear();
                return null;
            }
            return m;
        }

        /// <summary>Bytes of a held packet read back and hashed at a time when a restart checks it again.</summary>
        public const int ResumePieceLength = 256;

        /// <summary>Restores the update of the stored manifest m (from <see cref="ReadStored"/>). Held packets are
        /// hashed again as they are read back, through a buffer of <see cref="ResumePieceLength"/> bytes allocated here and dropped when it returns
        /// (start only: the core keeps no packet-sized buffer).</summary>
        public void Restore(Manifest m)
        {
            UpdateStateStore store = _rx.Store;
            int len = store.StoredManifestLength();
            BootRecord boot = _life.Record;
            if (m.ImageId == boot.ImageId && m.Version.SameAs(boot.Version))
            {
                // The running image: every packet is held, in the active slot; keep serving it to peers.
                _rx.Bind(m, _flash.Slot(boot.ActiveSlot));
                _rx.ListComplete = ListCompleteFor(m);
                for (int i = 0; i < m.ChunkCount; i++) _rx.Held.Set(i);
                if (_life.State == DeviceState.Idle) _life.State = DeviceState.Updated;
                return;
            }
            if (m.ImageId == boot.PreviousImageId && _life.State == DeviceState.RolledBack)
            {
                // The stored update is the image that was just rolled back: forget it, or it would be installed again.
                store.Clear();
                return;
            }
            if (m.ChunkSize > _maxChunkSize)
            {
                _log.Log("stored update has chunks larger than this device accepts; cleared");
                store.Clear();
                return;
            }
            int slot = _life.InactiveSlot;
            _rx.Bind(m, _flash.Slot(slot));
            _rx.ListComplete = ListCompleteFor(m);
            PacketBitmap claimed = new PacketBitmap(m.ChunkCount);
            store.LoadHeld(len, claimed);
            if (_rx.Packets.SequentialOnly) RestoreSequential(m, claimed, slot);
            else
            {
                _rx.Packets.Sink.Resume(slot, (int)m.ImageSize, 0);
                VerifyAndCleanSlot(m, claimed);
            }
            _life.State = DeviceState.Receiving;
            if (_rx.IsComplete) _rx.InstallRequested = true;
            _log.Log("resuming update " + m.Version.ToString() + " with " + _rx.HeldCount + "/" + m.ChunkCount + " packets held");
        }

        /// <summary>After Bind: false while a v2 image's hash list is still being collected (its root was restored).</summary>
        private bool ListCompleteFor(Manifest m)
        {
            return Roots == null || Roots.Root == null || Roots.Root.ImageId != m.ImageId || Roots.IsComplete;
        }

        /// <summary>
        /// After a restart mid-download. The persisted bitmap only claims packets; a power cut can leave a packet
        /// torn in flash (its bit not yet written, or, after a torn cleanup, written). So every claimed packet is
        /// hashed again and only verified ones count as held. Then every slot sector that overlaps a packet not
        /// held whose bytes are not blank (a torn write) is erased and the verified packets in it are written back,
        /// so each missing packet can be written again (NOR only clears bits). This works for any chunk size: a
        /// cut during the cleanup only loses packets of that sector, which fail their hash on the next start and
        /// are fetched again. Runs at start only; its buffers are dropped when it returns.
        /// </summary>
        private void VerifyAndCleanSlot(Manifest m, PacketBitmap claimed)
        {
            IFlashPartition slot = _rx.ImageSlot;
            PacketBitmap held = _rx.Held;
            // each claimed packet is hashed as it is read back, a piece at a time: no chunk-sized buffer
            byte[] piece = new byte[ResumePieceLength];
            for (int i = 0; i < m.ChunkCount; i++)
            {
                if (!claimed.Get(i)) continue;
                if (_rx.StoredChunkMatches(m, i, slot, m.ChunkOffset(i), m.ChunkLength(i), piece)) held.Set(i);
                else _counters.ResumeHeldInvalid++;
            }
            int sector = slot.SectorSize;
            byte[] sectorBuf = null; // one sector, only when a torn write must be cleaned
            long imageEnd = m.ImageSize;
            for (long sec = 0; sec < imageEnd; sec += sector)
            {
                int first = (int)(sec / m.ChunkSize);
                long secEnd = sec + sector < imageEnd ? sec + sector : imageEnd;
                int last = (int)((secEnd - 1) / m.ChunkSize);
                bool needsRead = false;
                for (int c = first; c <= last; c++)
                {
                    if (!held.Get(c)) { needsRead = true; break; }
                }
                if (!needsRead) continue;
                if (sectorBuf == null) sectorBuf = new byte[sector];
                slot.Read((int)sec, sectorBuf, 0, sector);
                bool dirty = false;
                for (int c = first; c <= last && !dirty; c++)
                {
                    if (held.Get(c)) continue;
                    long from = (long)c * m.ChunkSize;
                    long to = from + m.ChunkLength(c);
                    if (from < sec) from = sec;
                    if (to > secEnd) to = secEnd;
                    for (long b = from; b < to; b++)
                    {
                        if (sectorBuf[(int)(b - sec)] != 0xFF) { dirty = true; break; }
                    }
                }
                if (!dirty) continue;
                slot.Erase((int)sec, sector);
                for (int c = first; c <= last; c++)
                {
                    if (!held.Get(c)) continue;
                    long from = (long)c * m.ChunkSize;
                    long to = from + m.ChunkLength(c);
                    if (from < sec) from = sec;
                    if (to > secEnd) to = secEnd;
                    slot.Write((int)from, sectorBuf, (int)(from - sec), (int)(to - from));
                }
                _counters.ResumeSectorsCleaned++;
            }
        }

        /// <summary>
        /// Resume with a sequential sink. Held = the verified prefix of the slot (hashed again, claimed or not: a cut
        /// after a write but before its bitmap mark leaves a good packet) plus every staged packet whose hash checks.
        /// The sink resumes at the end of the prefix (it cleans a torn write there); a sink that cannot resume starts
        /// over and only the staged packets stay held. Then staging drains as far as it can.
        /// </summary>
        private void RestoreSequential(Manifest m, PacketBitmap claimed, int slotIndex)
        {
            byte[] piece = new byte[ResumePieceLength]; // packets are hashed as they are read back: no chunk-sized buffer
            IFlashPartition slot = _rx.ImageSlot;
            PacketBitmap held = _rx.Held;
            UpdateStateStore store = _rx.Store;
            PacketStore packets = _rx.Packets;
            int prefix = 0;
            while (prefix < m.ChunkCount)
            {
                if (!_rx.StoredChunkMatches(m, prefix, slot, m.ChunkOffset(prefix), m.ChunkLength(prefix), piece)) break;
                prefix++;
            }
            int prefixBytes = prefix == m.ChunkCount ? (int)m.ImageSize : m.ChunkOffset(prefix);
            if (!packets.Sink.Resume(slotIndex, (int)m.ImageSize, prefixBytes))
            {
                packets.Sink.Begin(slotIndex, (int)m.ImageSize);
                prefix = 0;
            }
            for (int i = 0; i < prefix; i++)
            {
                held.Set(i);
                if (!claimed.Get(i)) store.MarkHeld(i);
            }
            StagingArea staging = packets.Staging;
            if (staging != null)
            {
                staging.Load(m.ImageId, m.ChunkCount);
                for (int e = 0; e < staging.Capacity; e++)
                {
                    int idx = staging.IndexAt(e);
                    if (idx < 0) continue;
                    if (held.Get(idx))
                    {
                        staging.Free(e); // already in the slot (a cut between drain write and free)
                        continue;
                    }
                    if (!_rx.StoredChunkMatches(m, idx, staging.Partition, staging.PayloadAt(e), m.ChunkLength(idx), piece))
                    {
                        staging.Free(e);
                        continue;
                    }
                    held.Set(idx);
                    if (!claimed.Get(idx)) store.MarkHeld(idx);
                }
                if (staging.Count > _counters.StagingHighWater) _counters.StagingHighWater = staging.Count;
            }
            for (int i = 0; i < m.ChunkCount; i++)
            {
                if (claimed.Get(i) && !held.Get(i)) _counters.ResumeHeldInvalid++;
            }
            packets.Drain(m);
        }
    }
}
