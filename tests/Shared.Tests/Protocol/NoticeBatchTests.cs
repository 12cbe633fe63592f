using IotOta.Shared.Protocol;

namespace IotOta.Shared.Tests.Protocol;

public class NoticeBatchTests
{
    private static ProtocolError Err(byte[] b) => Samples.ErrorOf((x, o, c) => new NoticeBatch().Parse(x, o, c), b);

    [Fact]
    public void Golden_layout()
    {
        var b = Samples.NoticeBatchBytes(2);
        Assert.Equal(21 + 16, b.Length);
        Assert.Equal(new byte[] { 0x49, 0x4F, 2, 13 }, b[0..4]);
        Assert.Equal(new byte[] { 12, 0, 0, 0 }, b[4..8]);
        Assert.Equal(new byte[] { 77, 0, 0, 0 }, b[8..12]);
        Assert.Equal(BitConverter.GetBytes(1000L), b[12..20]);
        Assert.Equal(2, b[20]);
        Assert.Equal(new byte[] { 5, 0, 0, 0, 3, 0, 0, 0 }, b[21..29]);          // index 5 original, +0 ms, forwarded +3 ms, 0 copies
        Assert.Equal(new byte[] { 6, 0x80, 10, 0, 3, 0, 1, 0 }, b[29..37]);      // index 6 relay (bit 15), +10 ms, +3 ms, 1 copy
    }

    [Fact]
    public void Round_trip_gives_the_notices_back()
    {
        var n = new NoticeBatch { NodeId = 9, ImageId = 3 };
        for (int i = 0; i < NoticeBatch.MaxEntries; i++)
            Assert.True(n.Add(Manifest.MaxChunkCount - 1 - i, (byte)(i % 2), 5_000_000 + 7 * i, 5_000_000 + 7 * i + i, 1000 * i));
        Assert.True(n.IsFull);
        Assert.False(n.Add(0, 0, 0, 0, 0));
        var b = new byte[NoticeBatch.EncodedLength(n.Count)];
        Assert.Equal(b.Length, n.Encode(b, 0));
        var d = new NoticeBatch();
        d.Parse(b, 0, b.Length);
        var r = new ReceiptNotice();
        for (int i = 0; i < NoticeBatch.MaxEntries; i++)
        {
            d.Get(i, r);
            Assert.Equal((9u, 3u, Manifest.MaxChunkCount - 1 - i, (byte)(i % 2)), (r.NodeId, r.ImageId, r.Index, r.Kind));
            Assert.Equal(5_000_000L + 7 * i, r.ReceiveTimeMs);
            Assert.Equal(5_000_000L + 7 * i + i, r.ForwardedTimeMs);
            Assert.Equal(Math.Min(65535, 1000 * i), r.CopiesSent);
        }
    }

    [Fact]
    public void Offsets_saturate()
    {
        var n = new NoticeBatch();
        n.Add(1, 0, 100, 50, 0);          // forwarded before received: 0
        n.Add(2, 0, 100 + 70_000, 100 + 70_000 + 70_000, 0); // both offsets above 65 535 ms
        var b = new byte[NoticeBatch.EncodedLength(2)];
        n.Encode(b, 0);
        var d = new NoticeBatch();
        d.Parse(b, 0, b.Length);
        var r = new ReceiptNotice();
        d.Get(0, r);
        Assert.Equal((100L, 100L), (r.ReceiveTimeMs, r.ForwardedTimeMs));
        d.Get(1, r);
        Assert.Equal((100L + 65535, 100L + 2 * 65535), (r.ReceiveTimeMs, r.ForwardedTimeMs));
    }

    [Fact]
    public void Fields_out_of_range()
    {
        var b = Samples.NoticeBatchBytes(2);
        Assert.Equal(ProtocolError.FieldOutOfRange, Err(Samples.WithByte(b, 20, 0)));
        Assert.Equal(ProtocolError.FieldOutOfRange, Err(Samples.WithByte(b, 20, 33)));
        Assert.Equal(ProtocolError.Truncated, Err(Samples.WithByte(b, 20, 3)));
        Assert.Equal(ProtocolError.TrailingBytes, Err(Samples.WithByte(b, 20, 1)));
        Assert.Equal(ProtocolError.FieldOutOfRange, Err(Samples.WithByte(b, 22, 0x40)));  // reserved bit 14
        Assert.Equal(ProtocolError.FieldOutOfRange, Assert.Throws<ProtocolException>(() => new NoticeBatch().Encode(new byte[64], 0)).Error);
    }

    [Fact]
    public void The_devices_in_place_writer_writes_exactly_what_encode_writes()
    {
        var w = new NoticeBatchWriter(4);
        var n = new NoticeBatch { NodeId = 0x01020304, ImageId = 0xA0B0C0D0 };
        long[] recv = { 5_000_000_123, 5_000_000_200, 5_000_070_000, 4_999_999_000 };
        for (int i = 0; i < 4; i++)
        {
            Assert.True(w.Add(0x01020304, 0xA0B0C0D0, 100 + i, i == 2 ? ReceiptNotice.KindRelay : ReceiptNotice.KindOriginal, recv[i], recv[i] + 7 * i, i * 3));
            n.Add(100 + i, i == 2 ? ReceiptNotice.KindRelay : ReceiptNotice.KindOriginal, recv[i], recv[i] + 7 * i, i * 3);
        }
        Assert.True(w.IsFull);
        Assert.False(w.Add(1, 1, 1, 0, 0, 0, 0));
        var b = new byte[NoticeBatch.EncodedLength(4)];
        Assert.Equal(b.Length, n.Encode(b, 0));
        Assert.Equal(b, w.Buffer[..w.Length]);
        w.Clear();
        Assert.True(w.Add(9, 8, 7, ReceiptNotice.KindOriginal, 1, 2, 3));
        var d = new NoticeBatch();
        d.Parse(w.Buffer, 0, w.Length);
        Assert.Equal((9u, 8u, 1), (d.NodeId, d.ImageId, d.Count));
    }

    [Fact]
    public void Compact_golden_layout_has_no_node_and_a_32_bit_base()
    {
        var b = Samples.CompactNoticeBatchBytes(2);
        Assert.Equal(13 + 16, b.Length);
        Assert.Equal(new byte[] { 0x49, 0x4F, 2, 15 }, b[0..4]);
        Assert.Equal(new byte[] { 77, 0, 0, 0 }, b[4..8]);
        Assert.Equal(BitConverter.GetBytes(1000u), b[8..12]);
        Assert.Equal(2, b[12]);
        Assert.Equal(new byte[] { 5, 0, 0, 0, 3, 0, 0, 0 }, b[13..21]);
        Assert.Equal(new byte[] { 6, 0x80, 10, 0, 3, 0, 1, 0 }, b[21..29]);
        var d = new NoticeBatch();
        d.Parse(b, 0, b.Length);
        Assert.Equal((true, 0u, 77u, 1000L, 2), (d.Compact, d.NodeId, d.ImageId, d.BaseTimeMs, d.Count));
        d.Parse(Samples.NoticeBatchBytes(2), 0, 21 + 16);
        Assert.Equal((false, 12u), (d.Compact, d.NodeId));
    }

    [Fact]
    public void Compact_base_time_comes_back_whole_from_the_devices_previous_batch()
    {
        long t = 0x1_FFFF_FF00L; // the device clock's low 32 bits wrap between this batch and the next
        var n = new NoticeBatch { ImageId = 3, Compact = true };
        n.Add(1, ReceiptNotice.KindRelay, t + 0x200, t + 0x210, 2);
        n.Add(2, ReceiptNotice.KindOriginal, t + 0x240, t + 0x250, 4);
        var b = new byte[NoticeBatch.CompactEncodedLength(2)];
        Assert.Equal(b.Length, n.Encode(b, 0));
        var d = new NoticeBatch();
        d.Parse(b, 0, b.Length);
        Assert.Equal((t + 0x200) & 0xFFFF_FFFFL, d.BaseTimeMs);
        long whole = NoticeBatch.Unwrap(d.BaseTimeMs, t);
        Assert.Equal(t + 0x200, whole);
        d.Rebase(whole);
        var r = new ReceiptNotice();
        d.Get(1, r);
        Assert.Equal((2, t + 0x240, t + 0x250, 4), (r.Index, r.ReceiveTimeMs, r.ForwardedTimeMs, r.CopiesSent));
        Assert.Equal(t - 5, NoticeBatch.Unwrap((t - 5) & 0xFFFF_FFFFL, t + 100)); // a little earlier: no wrap forward
    }

    [Fact]
    public void The_devices_compact_writer_writes_exactly_what_encode_writes()
    {
        var w = new NoticeBatchWriter(3, true);
        var n = new NoticeBatch { ImageId = 0xA0B0C0D0, Compact = true };
        long[] recv = { 5_000_000_123, 5_000_000_200, 5_000_070_000 };
        for (int i = 0; i < 3; i++)
        {
            Assert.True(w.Add(0x01020304, 0xA0B0C0D0, 100 + i, i == 1 ? ReceiptNotice.KindRelay : ReceiptNotice.KindOriginal, recv[i], recv[i] + 9 * i, i));
            n.Add(100 + i, i == 1 ? ReceiptNotice.KindRelay : ReceiptNotice.KindOriginal, recv[i], recv[i] + 9 * i, i);
        }
        Assert.True(w.IsFull);
        var b = new byte[NoticeBatch.CompactEncodedLength(3)];
        Assert.Equal(b.Length, n.Encode(b, 0));
        Assert.Equal(b, w.Buffer[..w.Length]);
        Assert.Equal(NoticeBatch.EncodedLength(3) - 8, w.Length);
    }
}
