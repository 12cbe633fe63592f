using IotOta.DeviceFirmware.Flash;
using IotOta.DeviceFirmware.Ports;
using IotOta.DeviceFirmware.Tests.Support;
using IotOta.Shared.Protocol;
using IotOta.VirtualDevice.Flash;

namespace IotOta.DeviceFirmware.Tests.Flash;

public class BootDataStoreTests
{
    private static readonly FirmwareVersion Factory = new(1, 0, 0);

    private static BootRecord? Sector(IFlashPartition p, int sector)
    {
        var b = new byte[BootRecord.EncodedLength];
        p.Read(sector * p.SectorSize, b, 0, b.Length);
        return BootRecord.TryDecode(b, 0);
    }

    private static BootRecord Next(BootRecord r, int slot, int minor)
    {
        var c = r.Clone();
        c.ActiveSlot = slot;
        c.Version = new FirmwareVersion(1, minor, 0);
        return c;
    }

    [Fact]
    public void Blank_flash_loads_and_stores_the_factory_record()
    {
        using var f = new TempFlash();
        var p = f.Partition(0, 2);
        var r = new BootDataStore(p).Load(Factory);
        Assert.Equal(0, r.ActiveSlot);
        Assert.Equal(BootState.Confirmed, r.State);
        Assert.True(r.Version.SameAs(Factory));
        Assert.NotNull(Sector(p, 0));
        Assert.Null(Sector(p, 1));

        var again = new BootDataStore(p).Load(new FirmwareVersion(7, 7, 7));
        Assert.True(again.Version.SameAs(Factory));
    }

    [Fact]
    public void Saves_alternate_sectors_with_growing_sequence()
    {
        using var f = new TempFlash();
        var p = f.Partition(0, 2);
        var s = new BootDataStore(p);
        var r = s.Load(Factory);
        uint seq0 = Sector(p, 0)!.Sequence;

        s.Save(Next(r, 1, 1));
        Assert.Equal(seq0 + 1, Sector(p, 1)!.Sequence);
        Assert.Equal(seq0, Sector(p, 0)!.Sequence); // the older copy is untouched

        s.Save(Next(r, 0, 2));
        Assert.Equal(seq0 + 2, Sector(p, 0)!.Sequence);
        Assert.Equal(1, Sector(p, 1)!.Version.Minor);

        s.Save(Next(r, 1, 3));
        Assert.Equal(seq0 + 3, Sector(p, 1)!.Sequence);
        Assert.Equal(3, Sector(p, 1)!.Version.Minor);
    }

    [Fact]
    public void Newest_sequence_wins_after_a_reboot()
    {
        using var f = new TempFlash();
        var s = new BootDataStore(f.Partition(0, 2));
        var r = s.Load(Factory);
        s.Save(Next(r, 1, 1));
        s.Save(Next(r, 0, 2));
        s.Save(Next(r, 1, 3));
        f.Reopen();
        var loaded = new BootDataStore(f.Partition(0, 2)).Load(Factory);
        Assert.Equal(3, loaded.Version.Minor);
        Assert.Equal(1, loaded.ActiveSlot);

        // and the next save after the reboot goes to the other sector again, newer still
        var s2 = new BootDataStore(f.Partition(0, 2));
        var r2 = s2.Load(Factory);
        s2.Save(Next(r2, 0, 4));
        Assert.Equal(4, new BootDataStore(f.Partition(0, 2)).Load(Factory).Version.Minor);
        Assert.Equal(3, Sector(f.Partition(0, 2), 1)!.Version.Minor);
    }

    [Fact]
    public void Corrupted_newest_copy_falls_back_to_the_older()
    {
        using var f = new TempFlash();
        var p = f.Partition(0, 2);
        var s = new BootDataStore(p);
        var r = s.Load(Factory);
        s.Save(Next(r, 1, 1));
        s.Save(Next(r, 0, 2)); // newest in sector 0
        p.Write(0 + 10, new byte[] { 0x00 }, 0, 1); // clear bits of the newest copy's version

        var loaded = new BootDataStore(p).Load(Factory);
        Assert.Equal(1, loaded.Version.Minor);
        Assert.Equal(1, loaded.ActiveSlot);
    }

    [Fact]
    public void Power_cut_during_a_save_keeps_the_previous_record()
    {
        using var f = new TempFlash();
        var p = f.Partition(0, 2);
        var s = new BootDataStore(p);
        var r = s.Load(Factory);
        s.Save(Next(r, 1, 1));
        f.Chip.PowerCut = op => op.Kind == FlashOpKind.Write;
        Assert.Throws<PowerCutException>(() => s.Save(Next(r, 0, 2)));
        f.Chip.PowerCut = null;

        var loaded = new BootDataStore(p).Load(Factory);
        Assert.Equal(1, loaded.Version.Minor);
        Assert.Equal(1, loaded.ActiveSlot);
    }

    [Fact]
    public void Partition_of_one_sector_is_refused()
    {
        using var f = new TempFlash();
        Assert.Throws<FlashException>(() => new BootDataStore(f.Partition(0, 1)));
    }
}
