using IotOta.Board.Storage;
using IotOta.DeviceFirmware.Ports;
using IotOta.TestSupport;

namespace IotOta.Board.Tests.Storage;

public sealed class FilePartitionTests : IDisposable
{
    private readonly TempDir _dir = new("iotota-filepart-");
    private string Folder => _dir.Path + "/";

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void New_partition_reads_erased_and_keeps_nothing_on_disk()
    {
        var p = new FilePartition(Folder, "slota", 4 * 4096, 4096);
        var b = new byte[100];
        p.Read(4000, b, 0, b.Length);
        Assert.All(b, x => Assert.Equal(0xFF, x));
        Assert.Empty(Directory.GetFiles(_dir.Path));
    }

    [Fact]
    public void Writes_span_sectors_and_read_back_byte_for_byte()
    {
        var p = new FilePartition(Folder, "slota", 4 * 4096, 4096);
        var data = new byte[6000];
        new Random(1).NextBytes(data);
        p.Write(3000, data, 0, data.Length);
        var back = new byte[6000];
        p.Read(3000, back, 0, back.Length);
        Assert.Equal(data, back);
        var before = new byte[3000];
        p.Read(0, before, 0, before.Length);
        Assert.All(before, x => Assert.Equal(0xFF, x));
        Assert.Equal(new[] { "slota.000", "slota.001", "slota.002" }, Directory.GetFiles(_dir.Path).Select(f => Path.GetFileName(f)!).Order().ToArray());
    }

    [Fact]
    public void A_write_only_clears_bits_like_nor_flash()
    {
        var p = new FilePartition(Folder, "state", 2 * 4096, 4096);
        p.Write(4100, [0b1111_1110], 0, 1);
        p.Write(4100, [0b1111_1101], 0, 1); // a second marker bit: both stay cleared
        var b = new byte[1];
        p.Read(4100, b, 0, 1);
        Assert.Equal(0b1111_1100, b[0]);
    }

    [Fact]
    public void Erase_removes_the_sector_files_and_reads_erased_again()
    {
        var p = new FilePartition(Folder, "slotb", 4 * 4096, 4096);
        p.Write(0, new byte[8192], 0, 8192);
        p.Erase(0, 4096);
        var b = new byte[8192];
        p.Read(0, b, 0, b.Length);
        Assert.All(b[..4096], x => Assert.Equal(0xFF, x));
        Assert.All(b[4096..], x => Assert.Equal(0, x));
        Assert.Equal(["slotb.001"], Directory.GetFiles(_dir.Path).Select(f => Path.GetFileName(f)!).ToArray());
    }

    [Fact]
    public void Out_of_range_and_unaligned_calls_fail_with_the_partition_named()
    {
        var p = new FilePartition(Folder, "boot", 2 * 4096, 4096);
        Assert.Contains("boot", Assert.Throws<FlashException>(() => p.Write(8190, new byte[4], 0, 4)).Message);
        Assert.Contains("boot", Assert.Throws<FlashException>(() => p.Erase(100, 4096)).Message);
        Assert.Throws<FlashException>(() => new FilePartition(Folder, "odd", 5000, 4096));
    }
}
