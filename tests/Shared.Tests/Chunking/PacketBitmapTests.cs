using FsCheck;
using FsCheck.Xunit;
using IotOta.Shared.Chunking;

namespace IotOta.Shared.Tests.Chunking;

public class PacketBitmapTests
{
    private static int CountOf(NonNegativeInt n) => n.Get % 200;

    private static HashSet<int> Indices(int count, int[]? raw)
    {
        var set = new HashSet<int>();
        if (count == 0 || raw == null) return set;
        foreach (var r in raw) set.Add((int)((uint)r % (uint)count));
        return set;
    }

    private static PacketBitmap Build(int count, HashSet<int> held)
    {
        var bm = new PacketBitmap(count);
        foreach (var i in held) bm.Set(i);
        return bm;
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 1)]
    [InlineData(8, 1)]
    [InlineData(9, 2)]
    [InlineData(16384, 2048)]
    public void ByteLength(int count, int bytes)
    {
        Assert.Equal(bytes, PacketBitmap.ByteLength(count));
        Assert.Equal(bytes, new PacketBitmap(count).Bytes.Length);
    }

    [Fact]
    public void Empty_bitmap_is_complete()
    {
        var bm = new PacketBitmap(0);
        Assert.True(bm.IsComplete);
        Assert.Equal(-1, bm.NextMissing(0));
        bm.WriteMissing(Array.Empty<byte>(), 0);
        bm.LoadFrom(Array.Empty<byte>(), 0);
    }

    [Fact]
    public void Out_of_range()
    {
        var bm = new PacketBitmap(10);
        Assert.Throws<ArgumentOutOfRangeException>(() => new PacketBitmap(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => bm.Set(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => bm.Set(10));
        Assert.False(bm.Get(-1));
        Assert.False(bm.Get(10));
        Assert.Equal(0, bm.NextMissing(-5));
        Assert.Equal(-1, bm.NextMissing(10));
        Assert.Equal(-1, bm.NextMissing(int.MaxValue));
    }

    [Fact]
    public void Bit_order_is_lsb_first()
    {
        var bm = new PacketBitmap(12);
        bm.Set(0);
        bm.Set(9);
        Assert.Equal(new byte[] { 0x01, 0x02 }, bm.Bytes);
        var missing = new byte[2];
        bm.WriteMissing(missing, 0);
        Assert.Equal(new byte[] { 0xFE, 0x0D }, missing);
    }

    [Property]
    public bool Set_and_Get(NonNegativeInt n, int[] raw)
    {
        int count = CountOf(n);
        var held = Indices(count, raw);
        var bm = new PacketBitmap(count);
        foreach (var i in held)
        {
            if (!bm.Set(i)) return false;   // first set reports new
            if (bm.Set(i)) return false;    // second does not
        }
        if (bm.HeldCount != held.Count) return false;
        if (bm.IsComplete != (held.Count == count)) return false;
        for (int i = -2; i < count + 2; i++)
        {
            if (bm.Get(i) != held.Contains(i)) return false;
        }
        return true;
    }

    [Property]
    public bool NextMissing_is_first_gap(NonNegativeInt n, int[] raw, int start)
    {
        int count = CountOf(n);
        var held = Indices(count, raw);
        var bm = Build(count, held);
        start %= count + 3;
        int expected = -1;
        for (int i = Math.Max(0, start); i < count; i++)
        {
            if (!held.Contains(i)) { expected = i; break; }
        }
        return bm.NextMissing(start) == expected;
    }

    [Property]
    public bool WriteMissing_is_the_complement_with_zero_padding(NonNegativeInt n, int[] raw, byte offset)
    {
        int count = CountOf(n);
        var bm = Build(count, Indices(count, raw));
        int off = offset % 5;
        var dest = new byte[off + PacketBitmap.ByteLength(count) + 1];
        Array.Fill(dest, (byte)0x5A);
        bm.WriteMissing(dest, off);
        if (dest[dest.Length - 1] != 0x5A) return false;
        for (int i = 0; i < off; i++) if (dest[i] != 0x5A) return false;
        for (int i = 0; i < PacketBitmap.ByteLength(count) * 8; i++)
        {
            bool bit = (dest[off + (i >> 3)] & (1 << (i & 7))) != 0;
            bool expected = i < count && !bm.Get(i);
            if (bit != expected) return false;
        }
        return true;
    }

    [Property]
    public bool LoadFrom_matches_source_bits(NonNegativeInt n, byte[] src, byte offset)
    {
        int count = CountOf(n);
        int len = PacketBitmap.ByteLength(count);
        int off = offset % 4;
        var data = new byte[off + len];
        if (src != null) Array.Copy(src, 0, data, off, Math.Min(src.Length, len));
        var bm = new PacketBitmap(count);
        if (count > 0) bm.Set(count - 1);
        bm.LoadFrom(data, off);
        int expectedHeld = 0;
        for (int i = 0; i < count; i++)
        {
            bool bit = (data[off + (i >> 3)] & (1 << (i & 7))) != 0;
            if (bit) expectedHeld++;
            if (bm.Get(i) != bit) return false;
        }
        // Padding bits past Count are dropped.
        for (int i = count; i < len * 8; i++)
        {
            if ((bm.Bytes[i >> 3] & (1 << (i & 7))) != 0) return false;
        }
        return bm.HeldCount == expectedHeld && bm.IsComplete == (expectedHeld == count);
    }

    [Property]
    public bool LoadFrom_of_another_bitmap_round_trips(NonNegativeInt n, int[] raw)
    {
        int count = CountOf(n);
        var a = Build(count, Indices(count, raw));
        var b = new PacketBitmap(count);
        b.LoadFrom(a.Bytes, 0);
        return b.HeldCount == a.HeldCount && a.Bytes.AsSpan().SequenceEqual(b.Bytes);
    }

    [Property]
    public bool Missing_of_missing_is_held(NonNegativeInt n, int[] raw)
    {
        int count = CountOf(n);
        var a = Build(count, Indices(count, raw));
        var missing = new byte[PacketBitmap.ByteLength(count)];
        a.WriteMissing(missing, 0);
        var m = new PacketBitmap(count);
        m.LoadFrom(missing, 0);
        if (m.HeldCount != count - a.HeldCount) return false;
        for (int i = 0; i < count; i++) if (m.Get(i) == a.Get(i)) return false;
        return true;
    }

    [Property]
    public bool Clear_empties(NonNegativeInt n, int[] raw)
    {
        int count = CountOf(n);
        var a = Build(count, Indices(count, raw));
        a.Clear();
        return a.HeldCount == 0 && a.NextMissing(0) == (count == 0 ? -1 : 0) && Array.TrueForAll(a.Bytes, x => x == 0);
    }
}
