using IotOta.Shared.Protocol;

namespace IotOta.Shared.Tests.Protocol;

public class ReceiptNoticeTests
{
    private static ProtocolError Err(byte[] b) => Samples.ErrorOf((x, o, c) => new ReceiptNotice().Parse(x, o, c), b);

    [Theory]
    [InlineData(0u, 0, ReceiptNotice.KindOriginal, 0L, 0L, 0)]
    [InlineData(uint.MaxValue, Manifest.MaxChunkCount - 1, ReceiptNotice.KindRelay, long.MaxValue, long.MinValue, 65535)]
    [InlineData(12u, 5, ReceiptNotice.KindRelay, -1L, 1700000000000L, 8)]
    public void Round_trip(uint node, int index, byte kind, long recv, long fwd, int copies)
    {
        var n = new ReceiptNotice { NodeId = node, ImageId = ~node, Index = index, Kind = kind, ReceiveTimeMs = recv, ForwardedTimeMs = fwd, CopiesSent = copies };
        var b = new byte[ReceiptNotice.EncodedLength];
        Assert.Equal(ReceiptNotice.EncodedLength, n.Encode(b, 0));
        var d = new ReceiptNotice();
        d.Parse(b, 0, b.Length);
        Assert.Equal(node, d.NodeId);
        Assert.Equal(~node, d.ImageId);
        Assert.Equal(index, d.Index);
        Assert.Equal(kind, d.Kind);
        Assert.Equal(recv, d.ReceiveTimeMs);
        Assert.Equal(fwd, d.ForwardedTimeMs);
        Assert.Equal(copies, d.CopiesSent);
    }

    [Fact]
    public void Copies_sent_saturates_at_65535()
    {
        var n = new ReceiptNotice { CopiesSent = 100000 };
        var b = new byte[ReceiptNotice.EncodedLength];
        n.Encode(b, 0);
        var d = new ReceiptNotice();
        d.Parse(b, 0, b.Length);
        Assert.Equal(65535, d.CopiesSent);
    }

    [Fact]
    public void Encode_through_a_writer_appends()
    {
        var b = new byte[2 * ReceiptNotice.EncodedLength];
        var w = new WireWriter(b);
        var n = new ReceiptNotice { NodeId = 1 };
        Assert.Equal(ReceiptNotice.EncodedLength, n.Encode(w));
        n.NodeId = 2;
        Assert.Equal(ReceiptNotice.EncodedLength, n.Encode(w));
        var d = new ReceiptNotice();
        d.Parse(b, ReceiptNotice.EncodedLength, ReceiptNotice.EncodedLength);
        Assert.Equal(2u, d.NodeId);
    }

    [Fact]
    public void Golden_layout()
    {
        var b = Samples.ReceiptNoticeBytes();
        Assert.Equal(35, b.Length);
        Assert.Equal(new byte[] { 0x49, 0x4F, 1, 4 }, b[0..4]);
        Assert.Equal(new byte[] { 12, 0, 0, 0 }, b[4..8]);
        Assert.Equal(new byte[] { 77, 0, 0, 0 }, b[8..12]);
        Assert.Equal(new byte[] { 5, 0, 0, 0 }, b[12..16]);
        Assert.Equal(1, b[16]);
        Assert.Equal(BitConverter.GetBytes(1234567890123L), b[17..25]);
        Assert.Equal(BitConverter.GetBytes(1234567890456L), b[25..33]);
        Assert.Equal(new byte[] { 4, 0 }, b[33..35]);
    }

    [Theory]
    [InlineData((uint)Manifest.MaxChunkCount)]
    [InlineData(uint.MaxValue)]
    public void Index_out_of_range(uint index)
    {
        Assert.Equal(ProtocolError.FieldOutOfRange, Err(Samples.WithU32(Samples.ReceiptNoticeBytes(), 12, index)));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(255)]
    public void Kind_out_of_range(byte kind)
    {
        Assert.Equal(ProtocolError.FieldOutOfRange, Err(Samples.WithByte(Samples.ReceiptNoticeBytes(), 16, kind)));
    }
}
