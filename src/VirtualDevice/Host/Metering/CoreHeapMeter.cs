namespace IotOta.VirtualDevice.Host.Metering;

/// <summary>
/// Estimates the device core's managed heap on a board from what it allocates on .NET, per boot: everything the core
/// allocates while it is built, started and while it accepts a manifest stays alive for the whole update
/// (buffers, tables, the manifest) — <see cref="RetainedBytes"/>; every other call's allocation is garbage when the
/// call returns, so a phase's peak is the retained bytes plus the largest such call in that phase. Adapter allocations
/// (<see cref="AdapterAllocations"/>) are subtracted. The phases (<see cref="HeapPhase"/>: receive, install, the boot
/// after the install) are measured apart and the budget applies to each. A reboot starts a new count (the old heap is
/// gone); <see cref="MaxPeakBytes"/> is the peak over every phase and boot.
/// When a budget is set and a peak exceeds it, <see cref="Exceeded"/> turns true for good and
/// <see cref="Failure"/> says by how much and in which phase: a board would have run out of memory. Thread-safe.
/// </summary>
public sealed class CoreHeapMeter(string device, int budgetBytes)
{
    private readonly object _gate = new();
    private readonly long[] _phasePeak = new long[3];
    private long _retained, _largestCall, _maxPeak, _total, _calls;
    /// <summary>Which call allocated <see cref="LargestCallBytes"/> ("peer message type 3", "tick"…).</summary>
    private string _largestWhat = "none";
    private HeapPhase _phase = HeapPhase.Receive;

    /// <summary>The budget (the board profile's coreHeapBudget), 0 = none.</summary>
    public int BudgetBytes { get; } = budgetBytes;
    public long RetainedBytes { get { lock (_gate) return _retained; } }
    /// <summary>The largest transient call of the current phase, this boot.</summary>
    public long LargestCallBytes { get { lock (_gate) return _largestCall; } }
    /// <summary>Retained + largest call of the current phase, this boot.</summary>
    public long PeakBytes { get { lock (_gate) return _retained + _largestCall; } }
    /// <summary>The phase calls are counted in now.</summary>
    public HeapPhase Phase { get { lock (_gate) return _phase; } }
    /// <summary>The highest peak of one phase over every boot.</summary>
    public long PhasePeakBytes(HeapPhase phase) { lock (_gate) return _phasePeak[(int)phase]; }
    /// <summary>The highest peak over every phase and boot.</summary>
    public long MaxPeakBytes { get { lock (_gate) return Math.Max(_maxPeak, _retained + _largestCall); } }
    /// <summary>Everything the core allocated (minus adapters), over every boot.</summary>
    public long TotalBytes { get { lock (_gate) return _total; } }
    public long Calls { get { lock (_gate) return _calls; } }
    public bool Exceeded { get; private set; }
    /// <summary>Why the device failed its budget (null while it has not).</summary>
    public string? Failure { get; private set; }

    /// <summary>Starts a measurement on this thread: returns the allocation mark to pass to <see cref="End"/>.</summary>
    public static long Begin()
    {
        AdapterAllocations.Take();
        return GC.GetAllocatedBytesForCurrentThread();
    }

    private static long Since(long mark)
    {
        long bytes = GC.GetAllocatedBytesForCurrentThread() - mark - AdapterAllocations.Take();
        return bytes < 0 ? 0 : bytes;
    }

    /// <summary>Ends a measurement begun on this thread. retained: what the call allocated stays alive (and a new
    /// image is being received: the receive phase starts again). The call is named (and the message type it carried,
    /// or -1) so that a budget failure says which call set the peak; the name is formatted only when it does.</summary>
    public long End(long mark, bool retained, string what = "call", int messageType = -1) => Count(Since(mark), retained ? Kept.NewImage : Kept.No, what, messageType);

    /// <summary>Ends a measurement of a boot (construction and start): kept, in the phase the reboot set.</summary>
    public long EndBoot(long mark) => Count(Since(mark), Kept.Boot);

    /// <summary>Ends a measurement of the call that installed an image: counted in the install phase alone.</summary>
    public long EndInstall(long mark) => Count(Since(mark), Kept.Install);

    private enum Kept { No, NewImage, Boot, Install }

    private long Count(long bytes, Kept kept, string what = "call", int messageType = -1)
    {
        lock (_gate)
        {
            _calls++;
            _total += bytes;
            if (kept == Kept.Install)
            {
                Note(HeapPhase.Install, _retained + bytes);
                return bytes;
            }
            if (kept == Kept.No)
            {
                if (bytes > _largestCall)
                {
                    _largestCall = bytes;
                    _largestWhat = messageType >= 0 ? what + " type " + messageType : what;
                }
            }
            else
            {
                _retained += bytes;
                if (kept == Kept.NewImage && _phase != HeapPhase.Receive) { _phase = HeapPhase.Receive; _largestCall = 0; }
            }
            Note(_phase, _retained + _largestCall);
        }
        return bytes;
    }

    private void Note(HeapPhase phase, long peak)
    {
        if (peak > _phasePeak[(int)phase]) _phasePeak[(int)phase] = peak;
        if (peak > _maxPeak) _maxPeak = peak;
        if (BudgetBytes > 0 && peak > BudgetBytes && !Exceeded)
        {
            Exceeded = true;
            Failure = $"device {device}: device core heap {peak} B (retained {_retained} B + largest call {peak - _retained} B, {(peak > _retained ? _largestWhat : "none")}) exceeds the board's coreHeapBudget of {BudgetBytes} B in the {Name(phase)} phase";
        }
    }

    private static string Name(HeapPhase p) => p switch
    {
        HeapPhase.Install => "install",
        HeapPhase.AfterInstall => "boot-after-install",
        _ => "receive",
    };

    /// <summary>A reboot: the heap starts empty again; after an install the boot after the install is measured.</summary>
    public void Reboot(bool afterInstall = false)
    {
        lock (_gate)
        {
            _maxPeak = Math.Max(_maxPeak, _retained + _largestCall);
            _retained = 0;
            _largestCall = 0;
            _phase = afterInstall ? HeapPhase.AfterInstall : HeapPhase.Receive;
        }
    }
}
