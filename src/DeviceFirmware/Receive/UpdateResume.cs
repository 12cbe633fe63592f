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
        private byte[] _sectorBuf;

        public UpdateResume(ReceivePath rx, SlotLifecycle life, IFlashLayout flash, int maxChunkSize,
            DeviceCounters counters, DeviceLog log)
        {
            _rx = rx;
            _life = life;
            _flash = flash;
            _maxChunkSize = maxChunkSize;
            _counters = counters;
            _log = log;
        }

        /// <summary>Restores what the update-state partition holds. buffer: scratch of at least one chunk (and of
        /// the manifest's head and tail). The stored manifest is read from flash in pieces: its CRC is checked
        /// piece by piece and only its head and tail are decoded; its chunk-hash list stays in flash. Its signature
        /// was checked before it was stored (the check needs the whole manifest in one buffer, which a small board
        /// cannot hold again at boot); the CRC catches a stored manifest that flash corrupted or a cut tore.</summary>
        public void Restore(byte[] buffer)
        {
            UpdateStateStore store = _rx.Store;
            int len = store.StoredManifestLength();
            if (len == 0) return;
            Manifest m = null;
            if (len >= Manifest.ChunkHashesOffset + Manifest.TailLength && store.ManifestCrcMatches(len, buffer))
            {
                store.ReadManifestPart(0, buffer, 0, Manifest.ChunkHashesOffset);
                store.ReadManifestPart(len - Manifest.TailLength, buffer, Manifest.ChunkHashesOffset, Manifest.TailLength);
                try
                {
                    m = Manifest.DecodeWithoutHashes(buffer, 0, Manifest.ChunkHashesOffset, len);
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
                return;
            }
            BootRecord boot = _life.Record;
            if (m.ImageId == boot.ImageId && m.Version.SameAs(boot.Version))
            {
                // The running image: every packet is held, in the active slot; keep serving it to peers.
                _rx.Bind(m, _flash.Slot(boot.ActiveSlot));
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
            PacketBitmap claimed = new PacketBitmap(m.ChunkCount);
            store.LoadHeld(len, claimed);
            if (_rx.Packets.SequentialOnly) RestoreSequential(m, claimed, slot, buffer);
            else
            {
                _rx.Packets.Sink.Resume(slot, (int)m.ImageSize, 0);
                VerifyAndCleanSlot(m, claimed, buffer);
            }
            _life.State = DeviceState.Receiving;
            if (_rx.IsComplete) _rx.InstallRequested = true;
            _log.Log("resuming update " + m.Version.ToString() + " with " + _rx.HeldCount + "/" + m.ChunkCount + " packets held");
        }

        /// <summary>
        /// After a restart mid-download. The persisted bitmap only claims packets; a power cut can leave a packet
        /// torn in flash (its bit not yet written, or, after a torn cleanup, written). So every claimed packet is
        /// hashed again and only verified ones count as held. Then every slot sector that overlaps a packet not
        /// held whose bytes are not blank (a torn write) is erased and the verified packets in it are written back,
        /// so each missing packet can be written again (NOR only clears bits). This works for any chunk size: a
        /// cut during the cleanup only loses packets of that sector, which fail their hash on the next start and
        /// are fetched again. Runs at start only; the buffers it uses are allocated once.
        /// </summary>
        private void VerifyAndCleanSlot(Manifest m, PacketBitmap claimed, byte[] buffer)
        {
            IFlashPartition slot = _rx.ImageSlot;
            PacketBitmap held = _rx.Held;
            for (int i = 0; i < m.ChunkCount; i++)
            {
                if (!claimed.Get(i)) continue;
                int len = m.ChunkLength(i);
                slot.Read(m.ChunkOffset(i), buffer, 0, len);
                if (_rx.ChunkMatches(m, i, buffer, 0, len)) held.Set(i);
                else _counters.ResumeHeldInvalid++;
            }
            int sector = slot.SectorSize;
            if (_sectorBuf == null || _sectorBuf.Length < sector) _sectorBuf = new byte[sector];
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
                slot.Read((int)sec, _sectorBuf, 0, sector);
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
                        if (_sectorBuf[(int)(b - sec)] != 0xFF) { dirty = true; break; }
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
                    slot.Write((int)from, _sectorBuf, (int)(from - sec), (int)(to - from));
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
        private void RestoreSequential(Manifest m, PacketBitmap claimed, int slotIndex, byte[] buffer)
        {
            IFlashPartition slot = _rx.ImageSlot;
            PacketBitmap held = _rx.Held;
            UpdateStateStore store = _rx.Store;
            PacketStore packets = _rx.Packets;
            int prefix = 0;
            while (prefix < m.ChunkCount)
            {
                int len = m.ChunkLength(prefix);
                slot.Read(m.ChunkOffset(prefix), buffer, 0, len);
                if (!_rx.ChunkMatches(m, prefix, buffer, 0, len)) break;
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
                    int len = m.ChunkLength(idx);
                    staging.Read(e, buffer, 0, len);
                    if (!_rx.ChunkMatches(m, idx, buffer, 0, len))
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
