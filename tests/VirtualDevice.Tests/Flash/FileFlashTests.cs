using IotOta.DeviceFirmware.Ports;
using IotOta.VirtualDevice.Flash;
using IotOta.TestSupport;
using IotOta.VirtualDevice.Tests.Support;

namespace IotOta.VirtualDevice.Tests.Flash;

public sealed class FileFlashTests : IDisposable
{
    private const int Sector = 4096;
    private readonly TempDir _dir = new();
    private readonly FileFlash _flash;
    private readonly IFlashPartition _p;

    public FileFlashTests()
    {
        _flash = new FileFlash(_dir.File("flash.bin"), 16 * Sector, Sector);
        _p = _flash.Partition("p", 4 * Sector, 4 * Sector);
    }

    public void Dispose()
    {
        _flash.Dispose();
        _dir.Dispose();
    }

    private static byte[] Read(IFlashPartition p, int offset, int count)
    {
        byte[] b = new byte[count];
        p.Read(offset, b, 0, count);
        return b;
    }

    [Fact]
    public void New_file_is_all_erased_and_has_the_total_size()
    {
        Assert.Equal(16 * Sector, new FileInfo(_flash.Path).Length);
        Assert.All(File.ReadAllBytes(_flash.Path), b => Assert.Equal(0xFF, b));
        Assert.Equal("p", _p.Name);
        Assert.Equal(4 * Sector, _p.Size);
        Assert.Equal(Sector, _p.SectorSize);
    }

    [Fact]
    public void Write_then_read_back()
    {
        byte[] data = new byte[1000];
        new Random(1).NextBytes(data);
        _p.Write(100, data, 0, data.Length);
        Assert.Equal(data, Read(_p, 100, data.Length));
        Assert.Equal(0xFF, Read(_p, 99, 1)[0]);
        Assert.Equal(0xFF, Read(_p, 1100, 1)[0]);
        Assert.Equal(1, _flash.WriteCount);
        Assert.Equal(1000, _flash.BytesWritten);
    }

    [Fact]
    public void Write_honours_buffer_offset()
    {
        byte[] data = { 9, 9, 1, 2, 3, 9 };
        _p.Write(0, data, 2, 3);
        Assert.Equal(new byte[] { 1, 2, 3, 0xFF }, Read(_p, 0, 4));
    }

    [Fact]
    public void Writes_that_only_clear_bits_are_allowed()
    {
        _p.Write(10, new byte[] { 0xF0 }, 0, 1);
        _p.Write(10, new byte[] { 0x30 }, 0, 1);
        _p.Write(10, new byte[] { 0x30 }, 0, 1); // same value again is fine
        _p.Write(10, new byte[] { 0x00 }, 0, 1);
        Assert.Equal(0x00, Read(_p, 10, 1)[0]);
    }

    [Fact]
    public void Write_without_erase_is_rejected_and_changes_nothing()
    {
        _p.Write(10, new byte[] { 0x0F, 0x0F }, 0, 2);
        var e = Assert.Throws<FlashException>(() => _p.Write(10, new byte[] { 0x0F, 0x1F }, 0, 2));
        Assert.Contains("write without erase at offset 0xB", e.Message);
        Assert.Contains("'p'", e.Message);
        Assert.Equal(new byte[] { 0x0F, 0x0F }, Read(_p, 10, 2));
    }

    [Fact]
    public void Erase_restores_ff_and_allows_writing_again()
    {
        byte[] zeros = new byte[2 * Sector];
        _p.Write(0, zeros, 0, zeros.Length);
        _p.Erase(Sector, Sector);
        Assert.All(Read(_p, Sector, Sector), b => Assert.Equal(0xFF, b));
        Assert.All(Read(_p, 0, Sector), b => Assert.Equal(0x00, b));
        _p.Write(Sector, new byte[] { 0x12 }, 0, 1);
        Assert.Equal(0x12, Read(_p, Sector, 1)[0]);
        Assert.Equal(1, _flash.EraseCount);
    }

    [Theory]
    [InlineData(1, 4096)]
    [InlineData(0, 100)]
    [InlineData(2048, 4096)]
    public void Unaligned_erase_is_rejected(int offset, int length)
    {
        var e = Assert.Throws<FlashException>(() => _p.Erase(offset, length));
        Assert.Contains("unaligned erase", e.Message);
        Assert.Equal(0, _flash.EraseCount);
    }

    [Fact]
    public void Out_of_range_calls_are_rejected()
    {
        byte[] b = new byte[16];
        Assert.Contains("out of range", Assert.Throws<FlashException>(() => _p.Read(4 * Sector - 8, b, 0, 16)).Message);
        Assert.Contains("out of range", Assert.Throws<FlashException>(() => _p.Write(-1, b, 0, 1)).Message);
        Assert.Contains("out of range", Assert.Throws<FlashException>(() => _p.Erase(4 * Sector, Sector)).Message);
        Assert.Throws<FlashException>(() => _p.Read(0, b, 10, 10));
    }

    [Fact]
    public void Partitions_must_be_aligned_and_fit()
    {
        Assert.Throws<FlashException>(() => _flash.Partition("x", 100, Sector));
        Assert.Throws<FlashException>(() => _flash.Partition("x", 0, 100));
        Assert.Throws<FlashException>(() => _flash.Partition("x", 15 * Sector, 2 * Sector));
    }

    [Fact]
    public void Partitions_are_isolated()
    {
        IFlashPartition a = _flash.Partition("a", 0, 4 * Sector);
        IFlashPartition b = _flash.Partition("b", 8 * Sector, 4 * Sector);
        byte[] zeros = new byte[4 * Sector];
        a.Write(0, zeros, 0, zeros.Length);
        b.Erase(0, 4 * Sector);
        Assert.All(Read(a, 0, 4 * Sector), x => Assert.Equal(0, x));
        Assert.All(Read(_p, 0, 4 * Sector), x => Assert.Equal(0xFF, x));
        // offset 0 of b is absolute 8 sectors in
        b.Write(0, new byte[] { 0x42 }, 0, 1);
        byte[] one = new byte[1];
        _flash.Read(8 * Sector, one, 0, 1);
        Assert.Equal(0x42, one[0]);
        // a's range ends where _p starts
        Assert.Throws<FlashException>(() => a.Write(4 * Sector, new byte[1], 0, 1));
    }

    [Fact]
    public void Existing_file_of_the_same_size_keeps_its_contents()
    {
        _p.Write(0, new byte[] { 1, 2, 3 }, 0, 3);
        _flash.Dispose();
        using var again = new FileFlash(_flash.Path, 16 * Sector, Sector);
        byte[] b = new byte[3];
        again.Partition("p", 4 * Sector, 4 * Sector).Read(0, b, 0, 3);
        Assert.Equal(new byte[] { 1, 2, 3 }, b);
    }

    [Fact]
    public void Power_cut_during_erase_leaves_first_half_of_the_sector_erased()
    {
        byte[] zeros = new byte[3 * Sector];
        _p.Write(0, zeros, 0, zeros.Length);
        var seen = new List<FlashOp>();
        _flash.PowerCut = op =>
        {
            seen.Add(op);
            return op.Kind == FlashOpKind.Erase && op.Offset == Sector;
        };
        var e = Assert.Throws<PowerCutException>(() => _p.Erase(0, 3 * Sector));
        Assert.Equal(Sector, e.Op.Offset);
        Assert.Equal(5 * Sector, e.Op.Address);
        Assert.Equal("p", e.Op.Partition);
        _flash.PowerCut = null;

        Assert.All(Read(_p, 0, Sector), b => Assert.Equal(0xFF, b));              // sector 0 done
        Assert.All(Read(_p, Sector, Sector / 2), b => Assert.Equal(0xFF, b));     // torn sector: first half
        Assert.All(Read(_p, Sector + Sector / 2, Sector / 2), b => Assert.Equal(0x00, b)); // second half untouched
        Assert.All(Read(_p, 2 * Sector, Sector), b => Assert.Equal(0x00, b));     // sector 2 never reached
        Assert.Equal(2, seen.Count);
        Assert.Equal(1, _flash.EraseCount);
    }

    [Fact]
    public void Power_cut_during_write_applies_only_the_first_half()
    {
        _flash.PowerCut = op => op.Kind == FlashOpKind.Write;
        byte[] data = new byte[100];
        Assert.Throws<PowerCutException>(() => _p.Write(0, data, 0, data.Length));
        _flash.PowerCut = null;
        byte[] back = Read(_p, 0, 100);
        Assert.All(back.AsSpan(0, 50).ToArray(), b => Assert.Equal(0x00, b));
        Assert.All(back.AsSpan(50).ToArray(), b => Assert.Equal(0xFF, b));
        Assert.Equal(0, _flash.WriteCount);
    }

    [Fact]
    public void Concurrent_writes_to_distinct_ranges_all_land()
    {
        Parallel.For(0, 64, i =>
        {
            byte[] b = new byte[256];
            Array.Fill(b, (byte)i);
            _p.Write(i * 256, b, 0, b.Length);
        });
        for (int i = 0; i < 64; i++)
        {
            Assert.All(Read(_p, i * 256, 256), b => Assert.Equal((byte)i, b));
        }
        Assert.Equal(64, _flash.WriteCount);
    }

    [Fact]
    public void Disposed_flash_refuses_calls()
    {
        _flash.Dispose();
        Assert.Throws<ObjectDisposedException>(() => _p.Read(0, new byte[1], 0, 1));
    }
}
