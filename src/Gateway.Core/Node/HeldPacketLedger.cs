using System.Numerics;

namespace IotOta.Gateway.Node;

/// <summary>
/// What each device is known to hold of each image, from its progress reports, repair requests and receipt notices (a device keeps what
/// it wrote to flash, so what it held once it holds on) and, after a restart, from the store. Thread-safe.
/// </summary>
public sealed class HeldPacketLedger(TimeProvider time, INodeStore? store = null)
{
    private sealed class HeldState(int chunkCount, byte[] bits)
    {
        public readonly int ChunkCount = chunkCount;
        public readonly byte[] Bits = bits;
        /// <summary>When the device last reported (0: only loaded from the store).</summary>
        public long ReportedAt;
    }

    private readonly object _gate = new();
    private readonly Dictionary<(uint Node, uint Image), HeldState> _held = new();
    private readonly HashSet<uint> _loaded = new();
    private long _reports;

    /// <summary>Reports taken so far (grows whenever something was learned).</summary>
    public long Reports => Interlocked.Read(ref _reports);

    /// <summary>A device reported what it holds (bits: one per packet); raised after the ledger took it.</summary>
    public event Action<uint>? Learned;

    /// <summary>Takes a device's report: the packets it holds of the image now. With <paramref name="whole"/> (a repair
    /// request, which names every packet the device misses) what the device misses is taken as missing too, even where
    /// a receipt notice said otherwise (<see cref="Noticed"/>); a progress report only adds.</summary>
    public void Learn(uint node, uint imageId, int chunkCount, byte[] bits, bool whole = false)
    {
        EnsureLoaded(imageId);
        lock (_gate)
        {
            Interlocked.Increment(ref _reports);
            if (!_held.TryGetValue((node, imageId), out var st) || st.ChunkCount != chunkCount)
                _held[(node, imageId)] = st = new HeldState(chunkCount, new byte[bits.Length]);
            for (int i = 0; i < bits.Length && i < st.Bits.Length; i++) st.Bits[i] = whole ? bits[i] : (byte)(st.Bits[i] | bits[i]);
            st.ReportedAt = time.GetTimestamp();
            bits = (byte[])st.Bits.Clone();
        }
        store?.SaveProgress(node, imageId, chunkCount, bits);
        Learned?.Invoke(node);
    }

    /// <summary>A receipt notice: the device holds packet <paramref name="index"/> of the image (it forwarded it from
    /// flash). Known at once, not only from its next progress report (protocol v2 reports at most every
    /// DeviceConfig.ProgressIntervalMs while receiving): a delivery orphaned by a device that left can then be brought
    /// in from the group that noticed it instead of being sent again (RolloutScheduler.Departures). Not stored (the
    /// device's next report is) and no <see cref="Learned"/> event (a notice changes no settling).</summary>
    public void Noticed(uint node, uint imageId, int chunkCount, int index)
    {
        if (index < 0 || index >= chunkCount) return;
        EnsureLoaded(imageId);
        lock (_gate)
        {
            if (!_held.TryGetValue((node, imageId), out var st) || st.ChunkCount != chunkCount)
                _held[(node, imageId)] = st = new HeldState(chunkCount, new byte[(chunkCount + 7) / 8]);
            byte bit = (byte)(1 << (index & 7));
            if ((st.Bits[index >> 3] & bit) != 0) return;
            st.Bits[index >> 3] |= bit;
            Interlocked.Increment(ref _reports);
        }
    }

    /// <summary>True when the device is known to hold the packet of the image (reported, or stored before a restart).</summary>
    public bool Holds(uint node, uint imageId, int index)
    {
        EnsureLoaded(imageId);
        lock (_gate)
        {
            return _held.TryGetValue((node, imageId), out var st) && index >= 0 && (index >> 3) < st.Bits.Length
                && (st.Bits[index >> 3] & (1 << (index & 7))) != 0;
        }
    }

    /// <summary>Packets of the image the device is known to hold.</summary>
    public int Count(uint node, uint imageId)
    {
        EnsureLoaded(imageId);
        lock (_gate)
            return _held.TryGetValue((node, imageId), out var st) ? st.Bits.Sum(b => BitOperations.PopCount(b)) : 0;
    }

    /// <summary>True when the device reported on the image in this process (not only loaded from the store).</summary>
    public bool HasReported(uint node, uint imageId)
    {
        lock (_gate) return _held.TryGetValue((node, imageId), out var st) && st.ReportedAt != 0;
    }

    private void EnsureLoaded(uint imageId)
    {
        if (store == null) return;
        lock (_gate)
        {
            if (!_loaded.Add(imageId)) return;
            foreach (var (node, bits) in store.LoadProgress(imageId))
                if (!_held.ContainsKey((node, imageId))) _held[(node, imageId)] = new HeldState(bits.Length * 8, bits);
        }
    }
}
