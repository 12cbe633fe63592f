namespace IotOta.VirtualDevice.Network;

/// <summary>
/// Managed bytes the network adapters (MQTTnet publish, socket sends) allocated on the calling thread, so a host that
/// measures the device core's allocations around a call into it can leave out what the .NET ports allocated for it.
/// </summary>
public static class AdapterAllocations
{
    [ThreadStatic] private static long t_bytes;

    /// <summary>Bytes the adapters have allocated on this thread so far.</summary>
    public static long OnThisThread => t_bytes;

    internal static void Add(long since) => t_bytes += GC.GetAllocatedBytesForCurrentThread() - since;
}
