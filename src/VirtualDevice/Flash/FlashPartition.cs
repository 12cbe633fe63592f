using IotOta.DeviceFirmware.Ports;

namespace IotOta.VirtualDevice.Flash;

/// <summary>A sector-aligned window of a <see cref="FileFlash"/>; offsets are relative to the partition start.
/// Operations are range-checked against the partition, so partitions cannot touch each other.</summary>
public sealed class FlashPartition : IFlashPartition
{
    internal FlashPartition(FileFlash flash, string name, int offset, int size)
    {
        Flash = flash;
        Name = name;
        Offset = offset;
        Size = size;
    }

    public FileFlash Flash { get; }
    public string Name { get; }
    /// <summary>Absolute address of the partition on the chip.</summary>
    public int Offset { get; }
    public int Size { get; }
    public int SectorSize => Flash.SectorSize;

    public void Erase(int offset, int length) => Flash.Erase(Name, Offset, Size, offset, length);

    public void Write(int offset, byte[] buffer, int bufferOffset, int count) => Flash.Write(Name, Offset, Size, offset, buffer, bufferOffset, count);

    public void Read(int offset, byte[] buffer, int bufferOffset, int count) => Flash.Read(Name, Offset, Size, offset, buffer, bufferOffset, count);

    public override string ToString() => $"{Name} @0x{Offset:X} (0x{Size:X} bytes)";
}
