using IotOta.DeviceFirmware.Ports;

namespace IotOta.VirtualDevice.Flash;

/// <summary>
/// The device's flash map in one file: BootData (2 sectors for the boot record, then 3 for the member list: 1,024
/// members, <see cref="IotOta.DeviceFirmware.Flash.MemberListStore"/>) at 0, UpdateState right after it, then slot A and slot B,
/// each starting on a 64 KiB boundary with the slot size rounded up to 64 KiB; with a staging size, a staging
/// partition (for a sequential sink's early packets) follows slot B.
/// </summary>
public sealed class VirtualFlashLayout : IFlashLayout, IDisposable
{
    public const int SectorSize = 4096;
    public const int SlotAlignment = 64 * 1024;
    /// <summary>Sectors of the boot-data partition that keep the member list (the longest list the protocol allows).</summary>
    public const int MemberSectors = 3;

    private readonly IFlashPartition[] _slots;

    public VirtualFlashLayout(string path, int slotSize = 4 * 1024 * 1024, int updateStateSize = 256 * 1024, int stagingSize = 0)
    {
        if (stagingSize < 0) throw new ArgumentOutOfRangeException(nameof(stagingSize), stagingSize, "staging size must not be negative");
        if (slotSize <= 0) throw new ArgumentOutOfRangeException(nameof(slotSize), slotSize, "slot size must be positive");
        if (updateStateSize <= 0) throw new ArgumentOutOfRangeException(nameof(updateStateSize), updateStateSize, "update state size must be positive");
        int bootSize = (IotOta.DeviceFirmware.Flash.MemberListStore.FirstSector + MemberSectors) * SectorSize;
        int stateSize = RoundUp(updateStateSize, SectorSize);
        int slot = RoundUp(slotSize, SlotAlignment);
        int slotA = RoundUp(bootSize + stateSize, SlotAlignment);
        int staging = RoundUp(stagingSize, SectorSize);
        long total = (long)slotA + 2L * slot + staging;
        if (total > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(slotSize), slotSize, "flash layout does not fit in 2 GiB");

        Flash = new FileFlash(path, (int)total, SectorSize);
        BootData = Flash.Partition("boot", 0, bootSize);
        UpdateState = Flash.Partition("state", bootSize, stateSize);
        _slots = new[] { Flash.Partition("slotA", slotA, slot), Flash.Partition("slotB", slotA + slot, slot) };
        Staging = staging > 0 ? Flash.Partition("staging", slotA + 2 * slot, staging) : null;
    }

    /// <summary>The staging partition, or null when the layout has none.</summary>
    public IFlashPartition? Staging { get; }

    public FileFlash Flash { get; }
    public IFlashPartition BootData { get; }
    public IFlashPartition UpdateState { get; }

    public IFlashPartition Slot(int index)
    {
        if (index != 0 && index != 1) throw new ArgumentOutOfRangeException(nameof(index), index, "slot index must be 0 (A) or 1 (B)");
        return _slots[index];
    }

    public void Dispose() => Flash.Dispose();

    private static int RoundUp(int value, int unit) => (int)(((long)value + unit - 1) / unit * unit);
}
