using IotOta.DeviceFirmware.Flash;
using IotOta.DeviceFirmware.Ports;
using IotOta.DeviceFirmware.Tests.Support;
using IotOta.Shared.Chunking;

namespace IotOta.DeviceFirmware.Tests.Flash;

public class UpdateStateStoreTests
{
    [Fact]
    public void Fits_accounts_for_the_header_the_manifest_and_the_bitmap()
    {
        using var f = new TempFlash();
        var s = new UpdateStateStore(f.Partition(0, 3)); // 8192 bytes of update state + the relay-tree table's sector
        Assert.Equal(8192, s.TreeRegionOffset);
        Assert.True(s.Fits(100, 10));
        Assert.True(s.Fits(4096 - 16, 4096 * 8)); // manifest fills sector 0, bitmap fills sector 1
        Assert.False(s.Fits(4096 - 15, 1)); // manifest spills into sector 1, bitmap would start at 8192
        Assert.False(s.Fits(100, 4096 * 8 + 1));
    }

    [Fact]
    public void Begin_MarkHeld_LoadHeld_round_trip_across_a_reopen()
    {
        using var f = new TempFlash();
        byte[] manifest = Images.RandomBytes(5000, 4); // spans two sectors
        var s = new UpdateStateStore(f.Partition(0, 4));
        Assert.Equal(0, s.StoredManifestLength());
        s.Begin(manifest, 0, manifest.Length, 21);
        foreach (int i in new[] { 0, 7, 8, 20 }) s.MarkHeld(i);
        s.MarkHeld(7); // twice is harmless

        f.Reopen();
        var s2 = new UpdateStateStore(f.Partition(0, 4));
        int len = s2.StoredManifestLength();
        Assert.Equal(manifest.Length, len);
        var back = new byte[len];
        Assert.True(s2.ReadManifest(back, 0, len));
        Assert.Equal(manifest, back);
        var held = new PacketBitmap(21);
        s2.LoadHeld(len, held);
        Assert.Equal(4, held.HeldCount);
        Assert.Equal(new[] { 0, 7, 8, 20 }, Enumerable.Range(0, 21).Where(held.Get));

        s2.MarkHeld(1); // marking continues after LoadHeld
        var held2 = new PacketBitmap(21);
        new UpdateStateStore(f.Partition(0, 4)).LoadHeld(len, held2);
        Assert.Equal(5, held2.HeldCount);
    }

    [Fact]
    public void Begin_over_an_older_update_starts_with_nothing_held()
    {
        using var f = new TempFlash();
        var s = new UpdateStateStore(f.Partition(0, 3));
        byte[] a = Images.RandomBytes(300, 1);
        s.Begin(a, 0, a.Length, 8);
        for (int i = 0; i < 8; i++) s.MarkHeld(i);
        byte[] b = Images.RandomBytes(200, 2);
        s.Begin(b, 0, b.Length, 8);
        var held = new PacketBitmap(8);
        s.LoadHeld(b.Length, held);
        Assert.Equal(0, held.HeldCount);
        Assert.Equal(200, s.StoredManifestLength());
    }

    [Fact]
    public void Clear_forgets_the_update()
    {
        using var f = new TempFlash();
        var s = new UpdateStateStore(f.Partition(0, 3));
        byte[] m = Images.RandomBytes(300, 1);
        s.Begin(m, 0, m.Length, 8);
        s.Clear();
        Assert.Equal(0, s.StoredManifestLength());
        Assert.Equal(0, new UpdateStateStore(f.Partition(0, 3)).StoredManifestLength());
        Assert.Throws<FlashException>(() => s.MarkHeld(0));
    }

    [Fact]
    public void The_stored_manifest_is_read_and_its_crc_checked_piece_by_piece()
    {
        using var f = new TempFlash();
        var s = new UpdateStateStore(f.Partition(0, 4));
        byte[] m = Images.RandomBytes(5000, 9);
        s.Begin(m, 0, m.Length, 21);
        var scratch = new byte[256];
        Assert.True(s.ManifestCrcMatches(m.Length, scratch));
        var part = new byte[10];
        s.ReadManifestPart(4990, part, 0, 10);
        Assert.Equal(m[4990..], part);
        Assert.Equal(16 + IotOta.Shared.Protocol.Manifest.ChunkHashesOffset, s.HashListOffset);
        f.Partition(0, 4).Write(16 + 4000, new byte[] { 0x00 }, 0, 1);
        Assert.False(s.ManifestCrcMatches(m.Length, scratch));
    }

    [Fact]
    public void Corrupt_manifest_fails_its_crc()
    {
        using var f = new TempFlash();
        var p = f.Partition(0, 3);
        var s = new UpdateStateStore(p);
        byte[] m = Enumerable.Repeat((byte)0xF0, 300).ToArray();
        s.Begin(m, 0, m.Length, 8);
        p.Write(16 + 100, new byte[] { 0x00 }, 0, 1); // a bit flip in the stored manifest
        int len = s.StoredManifestLength();
        Assert.Equal(300, len);
        Assert.False(s.ReadManifest(new byte[len], 0, len));
    }

    [Fact]
    public void Header_without_magic_means_no_update()
    {
        using var f = new TempFlash();
        var p = f.Partition(0, 3);
        var s = new UpdateStateStore(p);
        byte[] m = Images.RandomBytes(300, 1);
        s.Begin(m, 0, m.Length, 8);
        p.Write(0, new byte[] { 0x00 }, 0, 1);
        Assert.Equal(0, s.StoredManifestLength());
    }

    [Fact]
    public void Too_large_update_and_out_of_range_index_throw()
    {
        using var f = new TempFlash();
        var s = new UpdateStateStore(f.Partition(0, 3));
        byte[] m = Images.RandomBytes(300, 1);
        Assert.Throws<FlashException>(() => s.Begin(m, 0, m.Length, 4096 * 8 + 1));
        s.Begin(m, 0, m.Length, 8);
        Assert.Throws<FlashException>(() => s.MarkHeld(8));
        Assert.Throws<FlashException>(() => s.MarkHeld(-1));
    }
}
