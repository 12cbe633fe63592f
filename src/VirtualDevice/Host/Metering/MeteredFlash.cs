using IotOta.DeviceFirmware.Ports;

namespace IotOta.VirtualDevice.Host.Metering;

/// <summary>A flash partition whose file I/O allocations are counted as adapter allocations.</summary>
public sealed class MeteredPartition(IFlashPartition inner) : IFlashPartition
{
    public string Name => inner.Name;
    public int Size => inner.Size;
    public int SectorSize => inner.SectorSize;

    public void Erase(int offset, int length)
    {
        long a = GC.GetAllocatedBytesForCurrentThread();
        try { inner.Erase(offset, length); } finally { AdapterAllocations.Add(a); }
    }

    public void Write(int offset, byte[] buffer, int bufferOffset, int count)
    {
        long a = GC.GetAllocatedBytesForCurrentThread();
        try { inner.Write(offset, buffer, bufferOffset, count); } finally { AdapterAllocations.Add(a); }
    }

    public void Read(int offset, byte[] buffer, int bufferOffset, int count)
    {
        long a = GC.GetAllocatedBytesForCurrentThread();
        try { inner.Read(offset, buffer, bufferOffset, count); } finally { AdapterAllocations.Add(a); }
    }
}

/// <summary>A flash layout handing out metered partitions (made once).</summary>
public sealed class MeteredLayout(IFlashLayout inner) : IFlashLayout
{
    private readonly IFlashPartition[] _slots = [new MeteredPartition(inner.Slot(0)), new MeteredPartition(inner.Slot(1))];
    public IFlashPartition Slot(int index) => _slots[index];
    public IFlashPartition BootData { get; } = new MeteredPartition(inner.BootData);
    public IFlashPartition UpdateState { get; } = new MeteredPartition(inner.UpdateState);
}
