namespace IotOta.VirtualDevice.Host.Metering;

/// <summary>Bytes the .NET adapters (file-backed flash, MQTTnet, sockets, hash and signature ports, log) allocated
/// on the calling thread while the device core called them. On a board these are native drivers or separate
/// components, so the heap meter subtracts them from what a core call allocated. Thread-static: every thread keeps
/// its own count.</summary>
public static class AdapterAllocations
{
    [ThreadStatic] private static long _bytes;

    /// <summary>Runs an adapter call and counts what it allocated on this thread.</summary>
    public static void Add(long startAllocated) => _bytes += GC.GetAllocatedBytesForCurrentThread() - startAllocated;

    /// <summary>As <see cref="Add(long)"/> for an adapter call that called back into the core, whose own adapter
    /// calls (alreadyCounted bytes) were counted already.</summary>
    public static void Add(long startAllocated, long alreadyCounted) =>
        _bytes += GC.GetAllocatedBytesForCurrentThread() - startAllocated - alreadyCounted;

    /// <summary>Bytes counted on this thread since the last Take, without resetting the count.</summary>
    public static long Peek() => _bytes;

    /// <summary>Bytes counted on this thread since the last Take; resets the count.</summary>
    public static long Take()
    {
        long n = _bytes;
        _bytes = 0;
        return n;
    }
}
