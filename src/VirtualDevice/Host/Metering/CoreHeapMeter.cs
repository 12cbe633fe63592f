namespace IotOta.VirtualDevice.Host.Metering;

/// <summary>
/// Estimates the device core's managed heap on a board from what it allocates on .NET, per boot: everything the core
/// allocates while it is built, started and while it accepts a manifest stays alive for the whole update
/// (buffers, tables, the manifest with its chunk hashes) — <see cref="RetainedBytes"/>; every other call's allocation
/// is garbage when the call returns, so the peak is the retained bytes plus the largest such call
/// (<see cref="PeakBytes"/>). Adapter allocations (<see cref="AdapterAllocations"/>) are subtracted. A reboot
/// starts a new count (the old heap is gone); <see cref="MaxPeakBytes"/> is the peak over every boot.
/// When a budget is set and a peak exceeds it, <see cref="Exceeded"/> turns true for good and
/// <see cref="Failure"/> says by how much: a board would have run out of memory. Thread-safe.
/// </summary>
public sealed class CoreHeapMeter(string device, int budgetBytes)
{
    private readonly object _gate = new();
    private long _retained, _largestCall, _maxPeak, _total, _calls;

    /// <summary>The budget (the board profile's coreHeapBudget), 0 = none.</summary>
    public int BudgetBytes { get; } = budgetBytes;
    public long RetainedBytes { get { lock (_gate) return _retained; } }
    public long LargestCallBytes { get { lock (_gate) return _largestCall; } }
    /// <summary>Retained + largest call, this boot.</summary>
    public long PeakBytes { get { lock (_gate) return _retained + _largestCall; } }
    /// <summary>The highest peak over every boot.</summary>
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

    /// <summary>Ends a measurement begun on this thread. retained: what the call allocated stays alive.</summary>
    public long End(long mark, bool retained)
    {
        long bytes = GC.GetAllocatedBytesForCurrentThread() - mark - AdapterAllocations.Take();
        if (bytes < 0) bytes = 0;
        lock (_gate)
        {
            _calls++;
            _total += bytes;
            if (retained) _retained += bytes;
            else if (bytes > _largestCall) _largestCall = bytes;
            long peak = _retained + _largestCall;
            if (BudgetBytes > 0 && peak > BudgetBytes && !Exceeded)
            {
                Exceeded = true;
                Failure = $"device {device}: device core heap {peak} B (retained {_retained} B + largest call {_largestCall} B) exceeds the board's coreHeapBudget of {BudgetBytes} B";
            }
        }
        return bytes;
    }

    /// <summary>A reboot: the heap starts empty again.</summary>
    public void Reboot()
    {
        lock (_gate)
        {
            _maxPeak = Math.Max(_maxPeak, _retained + _largestCall);
            _retained = 0;
            _largestCall = 0;
        }
    }
}
