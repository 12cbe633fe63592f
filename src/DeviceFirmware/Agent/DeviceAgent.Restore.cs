using System;
using IotOta.DeviceFirmware.Flash;
using IotOta.DeviceFirmware.Ports;
using IotOta.Shared.Chunking;
using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Agent
{
    /// <summary>Resuming after a restart: the stored update, torn sectors, a sequential sink.</summary>
    public sealed partial class DeviceAgent
    {
        private void RestoreUpdate()
        {
            int len = _store.StoredManifestLength();
            if (len == 0) return;
            byte[] buf = new byte[len];
            Manifest m = null;
            if (_store.ReadManifest(buf, 0, len))
            {
                try
                {
                    m = Manifest.Decode(buf, 0, len);
                }
                catch (ProtocolException)
                {
                    m = null;
                }
            }
            if (m == null || !_verifier.Verify(m.KeyId, buf, 0, m.SignedLength, m.Signature, 0))
            {
                Log("stored update state is not a valid signed manifest; cleared");
                _store.Clear();
                return;
            }
            _manifest = m;
            _held = new PacketBitmap(m.ChunkCount);
            SizeBuffers(m.ChunkCount);
            if (m.ImageId == _bootRec.ImageId && m.Version.SameAs(_bootRec.Version))
            {
                // The running image: every packet is held, in the active slot; keep serving it to peers.
                for (int i = 0; i < m.ChunkCount; i++) _held.Set(i);
                _imageSlot = _flash.Slot(_bootRec.ActiveSlot);
                if (_state == DeviceState.Idle) _state = DeviceState.Updated;
                return;
            }
            if (m.ImageId == _bootRec.PreviousImageId && _state == DeviceState.RolledBack)
            {
                // The stored update is the image that was just rolled back: forget it, or it would be installed again.
                _store.Clear();
                _manifest = null;
                _held = null;
                return;
            }
            if (m.ChunkSize > _cfg.MaxChunkSize)
            {
                Log("stored update has chunks larger than this device accepts; cleared");
                _store.Clear();
                _manifest = null;
                _held = null;
                return;
            }
            _imageSlot = _flash.Slot(1 - _bootRec.ActiveSlot);
            PacketBitmap claimed = new PacketBitmap(m.ChunkCount);
            _store.LoadHeld(len, claimed);
            if (_sink.SequentialOnly) RestoreSequential(m, claimed, 1 - _bootRec.ActiveSlot);
            else
            {
                _sink.Resume(1 - _bootRec.ActiveSlot, (int)m.ImageSize, 0);
                VerifyAndCleanSlot(m, claimed);
            }
            _state = DeviceState.Receiving;
            if (_held.IsComplete) _installRequested = true;
            Log("resuming update " + m.Version.ToString() + " with " + _held.HeldCount + "/" + m.ChunkCount + " packets held");
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
        private void VerifyAndCleanSlot(Manifest m, PacketBitmap claimed)
        {
            IFlashPartition slot = _imageSlot;
            for (int i = 0; i < m.ChunkCount; i++)
            {
                if (!claimed.Get(i)) continue;
                int len = m.ChunkLength(i);
                slot.Read(m.ChunkOffset(i), _txBuf, 0, len);
                _hash.ChunkHash(m.HashKind, _txBuf, 0, len, _hashOut, 0);
                if (m.ChunkHashEquals(i, _hashOut, 0)) _held.Set(i);
                else Counters.ResumeHeldInvalid++;
            }
            _txIndex = -1;
            _txLen = 0;
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
                    if (!_held.Get(c)) { needsRead = true; break; }
                }
                if (!needsRead) continue;
                slot.Read((int)sec, _sectorBuf, 0, sector);
                bool dirty = false;
                for (int c = first; c <= last && !dirty; c++)
                {
                    if (_held.Get(c)) continue;
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
                    if (!_held.Get(c)) continue;
                    long from = (long)c * m.ChunkSize;
                    long to = from + m.ChunkLength(c);
                    if (from < sec) from = sec;
                    if (to > secEnd) to = secEnd;
                    slot.Write((int)from, _sectorBuf, (int)(from - sec), (int)(to - from));
                }
                Counters.ResumeSectorsCleaned++;
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
            IFlashPartition slot = _imageSlot;
            int prefix = 0;
            while (prefix < m.ChunkCount)
            {
                int len = m.ChunkLength(prefix);
                slot.Read(m.ChunkOffset(prefix), _txBuf, 0, len);
                _hash.ChunkHash(m.HashKind, _txBuf, 0, len, _hashOut, 0);
                if (!m.ChunkHashEquals(prefix, _hashOut, 0)) break;
                prefix++;
            }
            _txIndex = -1;
            _txLen = 0;
            int prefixBytes = prefix == m.ChunkCount ? (int)m.ImageSize : m.ChunkOffset(prefix);
            if (!_sink.Resume(slotIndex, (int)m.ImageSize, prefixBytes))
            {
                _sink.Begin(slotIndex, (int)m.ImageSize);
                prefix = 0;
            }
            for (int i = 0; i < prefix; i++)
            {
                _held.Set(i);
                if (!claimed.Get(i)) _store.MarkHeld(i);
            }
            if (_staging != null)
            {
                _staging.Load(m.ImageId, m.ChunkCount);
                for (int e = 0; e < _staging.Capacity; e++)
                {
                    int idx = _staging.IndexAt(e);
                    if (idx < 0) continue;
                    if (_held.Get(idx))
                    {
                        _staging.Free(e); // already in the slot (a cut between drain write and free)
                        continue;
                    }
                    int len = m.ChunkLength(idx);
                    _staging.Read(e, _stageBuf, 0, len);
                    _hash.ChunkHash(m.HashKind, _stageBuf, 0, len, _hashOut, 0);
                    if (!m.ChunkHashEquals(idx, _hashOut, 0))
                    {
                        _staging.Free(e);
                        continue;
                    }
                    _held.Set(idx);
                    if (!claimed.Get(idx)) _store.MarkHeld(idx);
                }
                if (_staging.Count > Counters.StagingHighWater) Counters.StagingHighWater = _staging.Count;
            }
            for (int i = 0; i < m.ChunkCount; i++)
            {
                if (claimed.Get(i) && !_held.Get(i)) Counters.ResumeHeldInvalid++;
            }
            Drain(m);
        }
    }
}
