using IotOta.DeviceFirmware.Ports;

namespace IotOta.VirtualDevice.Flash;

/// <summary>
/// A sequential-only image sink, like nanoFramework's In-Field-Update session: Begin erases the slot, every Write
/// must start exactly at <see cref="NextOffset"/> (anything else throws <see cref="FlashException"/>), Complete checks
/// that the whole image arrived. Unlike a real session it can resume after a restart (a torn write past the resume
/// offset is cleaned first); set <see cref="CanResume"/> false to behave like the board, which starts over.
/// </summary>
public sealed class VirtualSequentialSink : IImageSink
{
    private readonly IFlashLayout _layout;
    private IFlashPartition? _slot;
    private int _imageSize;
    private int _next;
    private bool _completed;

    public VirtualSequentialSink(IFlashLayout layout) => _layout = layout;

    public bool SequentialOnly => true;
    public int NextOffset => _next;
    /// <summary>False: Resume refuses, as a real In-Field-Update session does.</summary>
    public bool CanResume { get; init; } = true;
    /// <summary>Writes refused because they were out of order.</summary>
    public int OutOfOrderWrites { get; private set; }
    public int Sessions { get; private set; }
    public bool Completed => _completed;

    public void Begin(int slot, int imageSize)
    {
        IFlashPartition p = _layout.Slot(slot);
        if (imageSize <= 0 || imageSize > p.Size) throw new FlashException($"image of {imageSize} bytes does not fit slot '{p.Name}' of {p.Size}");
        p.Erase(0, RoundUp(imageSize, p.SectorSize));
        _slot = p;
        _imageSize = imageSize;
        _next = 0;
        _completed = false;
        Sessions++;
    }

    public bool Resume(int slot, int imageSize, int offset)
    {
        if (!CanResume) return false;
        IFlashPartition p = _layout.Slot(slot);
        if (offset < 0 || offset > imageSize || imageSize > p.Size) return false;
        int s = p.SectorSize;
        int end = RoundUp(imageSize, s);
        var sector = new byte[s];
        for (int sec = offset / s * s; sec < end; sec += s)
        {
            p.Read(sec, sector, 0, s);
            int from = Math.Max(offset - sec, 0);
            bool blank = true;
            for (int i = from; i < s; i++) if (sector[i] != 0xFF) { blank = false; break; }
            if (blank) continue;
            p.Erase(sec, s);
            if (from > 0) p.Write(sec, sector, 0, from); // keep the verified bytes before the resume offset
        }
        _slot = p;
        _imageSize = imageSize;
        _next = offset;
        _completed = false;
        return true;
    }

    public void Write(int offset, byte[] buffer, int bufferOffset, int count)
    {
        if (_slot == null) throw new FlashException("sequential sink written before Begin");
        if (_completed) throw new FlashException("sequential sink written after Complete");
        if (offset != _next)
        {
            OutOfOrderWrites++;
            throw new FlashException($"sequential sink: write at 0x{offset:X} but the next offset is 0x{_next:X}");
        }
        if ((long)offset + count > _imageSize) throw new FlashException($"sequential sink: write past the image end 0x{_imageSize:X}");
        _slot.Write(offset, buffer, bufferOffset, count);
        _next += count;
    }

    public bool Complete()
    {
        if (_slot == null || _next != _imageSize) return false;
        _completed = true;
        return true;
    }

    private static int RoundUp(int v, int unit) => (int)(((long)v + unit - 1) / unit * unit);
}
