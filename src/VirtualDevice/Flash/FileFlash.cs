using IotOta.DeviceFirmware.Ports;
using Microsoft.Win32.SafeHandles;

namespace IotOta.VirtualDevice.Flash;

/// <summary>
/// A NOR flash chip kept in a file. Erase works on whole sectors and sets bytes to 0xFF; Write may only clear bits.
/// Every call is range-checked; a rule violation throws <see cref="FlashException"/>. One lock guards the chip, so it
/// is safe to use from several threads. An existing file of exactly <c>totalSize</c> bytes is reopened as it is
/// (a reboot keeps flash); otherwise the file is (re)created filled with 0xFF.
/// </summary>
public sealed class FileFlash : IDisposable
{
    private const int FillChunk = 64 * 1024;

    private readonly object _lock = new();
    private readonly SafeFileHandle _file;
    private readonly byte[] _erased;
    private byte[] _scratch = new byte[4096];
    private long _eraseCount;
    private long _writeCount;
    private long _bytesWritten;
    private long _sequence;
    private bool _disposed;

    public FileFlash(string path, int totalSize, int sectorSize = 4096)
    {
        if (sectorSize <= 0 || (sectorSize & (sectorSize - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(sectorSize), sectorSize, "sector size must be a positive power of two");
        if (totalSize <= 0 || totalSize % sectorSize != 0)
            throw new ArgumentOutOfRangeException(nameof(totalSize), totalSize, $"total size must be a positive multiple of the sector size {sectorSize}");

        Path = path;
        TotalSize = totalSize;
        SectorSize = sectorSize;
        _erased = new byte[sectorSize];
        Array.Fill(_erased, (byte)0xFF);

        bool reuse = File.Exists(path) && new FileInfo(path).Length == totalSize;
        string? dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (dir != null) Directory.CreateDirectory(dir);
        _file = File.OpenHandle(path, reuse ? FileMode.Open : FileMode.Create, FileAccess.ReadWrite, FileShare.Read);
        if (!reuse)
        {
            byte[] ff = new byte[Math.Min(FillChunk, totalSize)];
            Array.Fill(ff, (byte)0xFF);
            for (long at = 0; at < totalSize; at += ff.Length)
            {
                RandomAccess.Write(_file, ff.AsSpan(0, (int)Math.Min(ff.Length, totalSize - at)), at);
            }
        }
    }

    public string Path { get; }
    public int TotalSize { get; }
    public int SectorSize { get; }

    /// <summary>Sectors erased (a multi-sector erase counts each sector).</summary>
    public long EraseCount => Interlocked.Read(ref _eraseCount);
    /// <summary>Completed Write calls.</summary>
    public long WriteCount => Interlocked.Read(ref _writeCount);
    /// <summary>Bytes written by completed Write calls.</summary>
    public long BytesWritten => Interlocked.Read(ref _bytesWritten);

    /// <summary>
    /// Consulted (under the chip's lock, so it must not call back into the flash) before each sector erase and each
    /// write. Returning true tears that operation — an erase leaves the sector's first half erased and the rest as it
    /// was; a write applies only the first half of its bytes — and throws <see cref="PowerCutException"/>.
    /// </summary>
    public Func<FlashOp, bool>? PowerCut { get; set; }

    /// <summary>A view of [offset, offset+size) as a partition; both must be sector-aligned.</summary>
    public IFlashPartition Partition(string name, int offset, int size)
    {
        if (offset < 0 || size <= 0 || (long)offset + size > TotalSize)
            throw new FlashException($"partition '{name}' at 0x{offset:X} size 0x{size:X} does not fit in a chip of 0x{TotalSize:X} bytes");
        if (offset % SectorSize != 0 || size % SectorSize != 0)
            throw new FlashException($"partition '{name}' at 0x{offset:X} size 0x{size:X} is not aligned to the sector size 0x{SectorSize:X}");
        return new FlashPartition(this, name, offset, size);
    }

    /// <summary>Erases whole sectors of the chip (absolute address).</summary>
    public void Erase(int address, int length) => Erase(null, 0, TotalSize, address, length);

    /// <summary>Programs bytes of the chip (absolute address); may only clear bits.</summary>
    public void Write(int address, byte[] buffer, int bufferOffset, int count) => Write(null, 0, TotalSize, address, buffer, bufferOffset, count);

    /// <summary>Reads bytes of the chip (absolute address).</summary>
    public void Read(int address, byte[] buffer, int bufferOffset, int count) => Read(null, 0, TotalSize, address, buffer, bufferOffset, count);

    internal void Erase(string? part, int baseAddress, int size, int offset, int length)
    {
        CheckRange(part, size, "erase", offset, length);
        if (offset % SectorSize != 0 || length % SectorSize != 0)
        {
            throw new FlashException($"unaligned erase of 0x{length:X} bytes at offset 0x{offset:X}{Where(part)}: offset and length must be multiples of the sector size 0x{SectorSize:X}");
        }
        lock (_lock)
        {
            CheckOpen();
            for (int rel = offset; rel < offset + length; rel += SectorSize)
            {
                long address = (long)baseAddress + rel;
                var op = new FlashOp(FlashOpKind.Erase, part, rel, (int)address, SectorSize, _sequence++);
                if (PowerCut?.Invoke(op) == true)
                {
                    RandomAccess.Write(_file, _erased.AsSpan(0, SectorSize / 2), address);
                    throw new PowerCutException(op);
                }
                RandomAccess.Write(_file, _erased, address);
                _eraseCount++;
            }
        }
    }

    internal void Write(string? part, int baseAddress, int size, int offset, byte[] buffer, int bufferOffset, int count)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        CheckRange(part, size, "write", offset, count);
        CheckBuffer(buffer, bufferOffset, count);
        if (count == 0) return;
        long address = (long)baseAddress + offset;
        lock (_lock)
        {
            CheckOpen();
            if (_scratch.Length < count) _scratch = new byte[Math.Max(count, _scratch.Length * 2)];
            RandomAccess.Read(_file, _scratch.AsSpan(0, count), address);
            for (int i = 0; i < count; i++)
            {
                byte old = _scratch[i];
                byte neu = buffer[bufferOffset + i];
                if ((old & neu) != neu)
                {
                    throw new FlashException($"write without erase at offset 0x{offset + i:X}{Where(part)}: byte is 0x{old:X2}, writing 0x{neu:X2} needs a 0->1 change");
                }
            }
            var op = new FlashOp(FlashOpKind.Write, part, offset, (int)address, count, _sequence++);
            if (PowerCut?.Invoke(op) == true)
            {
                RandomAccess.Write(_file, buffer.AsSpan(bufferOffset, count / 2), address);
                throw new PowerCutException(op);
            }
            RandomAccess.Write(_file, buffer.AsSpan(bufferOffset, count), address);
            _writeCount++;
            _bytesWritten += count;
        }
    }

    internal void Read(string? part, int baseAddress, int size, int offset, byte[] buffer, int bufferOffset, int count)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        CheckRange(part, size, "read", offset, count);
        CheckBuffer(buffer, bufferOffset, count);
        if (count == 0) return;
        lock (_lock)
        {
            CheckOpen();
            int n = RandomAccess.Read(_file, buffer.AsSpan(bufferOffset, count), (long)baseAddress + offset);
            if (n != count) throw new FlashException($"short read of flash file '{Path}' at 0x{baseAddress + offset:X}: {n} of {count} bytes");
        }
    }

    private static void CheckRange(string? part, int size, string what, int offset, int length)
    {
        if (offset < 0 || length < 0 || (long)offset + length > size)
        {
            throw new FlashException($"{what} of 0x{length:X} bytes at offset 0x{offset:X} is out of range{Where(part)} (size 0x{size:X})");
        }
    }

    private static void CheckBuffer(byte[] buffer, int bufferOffset, int count)
    {
        if (bufferOffset < 0 || count < 0 || (long)bufferOffset + count > buffer.Length)
        {
            throw new FlashException($"buffer range [{bufferOffset}, {(long)bufferOffset + count}) is outside a buffer of {buffer.Length} bytes");
        }
    }

    private static string Where(string? part) => part == null ? "" : $" in partition '{part}'";

    private void CheckOpen()
    {
        if (_disposed) throw new ObjectDisposedException(nameof(FileFlash), $"flash file '{Path}' is closed");
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            _file.Dispose();
        }
    }
}
