using IotOta.DeviceFirmware.Ports;
using IotOta.VirtualDevice.Flash;

namespace IotOta.DeviceFirmware.Tests.Support;

/// <summary>A small real FileFlash in a temp dir; <see cref="Reopen"/> closes and reopens the same file.</summary>
public sealed class TempFlash : IDisposable
{
    public const int Sector = 4096;
    private readonly string _dir;
    private readonly string _path;
    private readonly int _size;

    public TempFlash(int sectors = 8)
    {
        _dir = Path.Combine(Path.GetTempPath(), "iotota-dft-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(_dir);
        _path = Path.Combine(_dir, "flash.bin");
        _size = sectors * Sector;
        Chip = new FileFlash(_path, _size, Sector);
    }

    public FileFlash Chip { get; private set; }

    public IFlashPartition Partition(int firstSector, int sectors) => Chip.Partition("p" + firstSector, firstSector * Sector, sectors * Sector);

    public void Reopen()
    {
        Chip.Dispose();
        Chip = new FileFlash(_path, _size, Sector);
    }

    public void Dispose()
    {
        Chip.Dispose();
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }
}
