using IotOta.Shared.Chunking;
using IotOta.Shared.Protocol;

namespace IotOta.Shared.Tests.Protocol;

public class RepairRequestTests
{
    private static ProtocolError Err(byte[] b) => Samples.ErrorOf((x, o, c) => new RepairRequest().Parse(x, o, c), b);

    [Theory]
    [InlineData(1)]
    [InlineData(8)]
    [InlineData(21)]
    [InlineData(Manifest.MaxChunkCount)]
    public void Round_trip(int chunkCount)
    {
        var bm = new PacketBitmap(chunkCount);
        for (int i = 0; i < chunkCount; i += 3) bm.Set(i);
        var missing = new byte[PacketBitmap.ByteLength(chunkCount) + 2];
        bm.WriteMissing(missing, 2);
        var r = new RepairRequest { NodeId = 5, ImageId = 6, ChunkCount = chunkCount, MaxReplies = 65535, MissingBuffer = missing, MissingOffset = 2 };
        var b = new byte[RepairRequest.EncodedLength(chunkCount)];
        Assert.Equal(b.Length, r.Encode(b, 0));
        var d = new RepairRequest();
        d.Parse(b, 0, b.Length);
        Assert.Equal(5u, d.NodeId);
        Assert.Equal(6u, d.ImageId);
        Assert.Equal(chunkCount, d.ChunkCount);
        Assert.Equal(65535, d.MaxReplies);
        Assert.Same(b, d.MissingBuffer);
        Assert.Equal(RepairRequest.FixedLength, d.MissingOffset);
        for (int i = -1; i <= chunkCount; i++) Assert.Equal(i >= 0 && i < chunkCount && !bm.Get(i), d.IsMissing(i));
    }

    [Fact]
    public void Golden_layout()
    {
        var b = Samples.RepairRequestBytes(21);
        Assert.Equal(20 + 3, b.Length);
        Assert.Equal(new byte[] { 0x49, 0x4F, 1, 7 }, b[0..4]);
        Assert.Equal(new byte[] { 12, 0, 0, 0 }, b[4..8]);
        Assert.Equal(new byte[] { 77, 0, 0, 0 }, b[8..12]);
        Assert.Equal(new byte[] { 21, 0, 0, 0 }, b[12..16]);
        Assert.Equal(new byte[] { 16, 0 }, b[16..18]);
        Assert.Equal(new byte[] { 3, 0 }, b[18..20]);
        Assert.Equal(new byte[] { 0xAA, 0xAA, 0x0A }, b[20..23]); // odd indices missing; padding bits 0
    }

    [Theory]
    [InlineData(0u)]
    [InlineData((uint)Manifest.MaxChunkCount + 1)]
    [InlineData(uint.MaxValue)]
    public void Chunk_count_out_of_range(uint cc)
    {
        Assert.Equal(ProtocolError.FieldOutOfRange, Err(Samples.WithU32(Samples.RepairRequestBytes(21), 12, cc)));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(65535)]
    public void Bitmap_length_not_fitting_chunk_count_is_length_mismatch(int n)
    {
        Assert.Equal(ProtocolError.LengthMismatch, Err(Samples.WithU16(Samples.RepairRequestBytes(21), 18, n)));
    }

    [Fact]
    public void Golden_layout_of_a_donor_order_with_target_tail()
    {
        var b = Samples.RepairOrderBytes(21);
        Assert.Equal(20 + 3 + 8, b.Length);
        Assert.Equal(Samples.RepairRequestBytes(21)[4..23], b[4..23]); // the old layout, unchanged, in front
        Assert.Equal(new byte[] { 0x58 }, b[23..24]); // tag 'X'
        Assert.Equal(new byte[] { 0x7F, 0, 0, 1 }, b[24..28]); // ip 127.0.0.1
        Assert.Equal(new byte[] { 0xC9, 0xAF }, b[28..30]); // port 45001
        Assert.Equal(new byte[] { 1 }, b[30..31]); // relay mode
    }

    [Fact]
    public void Donor_order_round_trip_and_old_layout_has_no_target()
    {
        var d = new RepairRequest();
        var b = Samples.RepairOrderBytes(21);
        d.Parse(b, 0, b.Length);
        Assert.True(d.HasTarget);
        Assert.Equal(0x0100007Fu, d.TargetIp);
        Assert.Equal(45001, d.TargetPort);
        Assert.Equal(RepairRequest.ModeRelay, d.TargetMode);
        Assert.Equal(12u, d.NodeId);
        Assert.True(d.IsMissing(1));
        Assert.False(d.IsMissing(0));
        var old = Samples.RepairRequestBytes(21);
        d.Parse(old, 0, old.Length); // the same instance: the tail of the last parse does not linger
        Assert.False(d.HasTarget);
        Assert.Equal(0, d.TargetPort);
    }

    [Fact]
    public void Unknown_tail_tag_is_a_version_error()
    {
        var b = Samples.RepairOrderBytes(21);
        b[23] = 0x59;
        Assert.Equal(ProtocolError.UnsupportedVersion, Err(b));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    public void Target_tail_cut_short_is_truncated(int tail)
    {
        var b = Samples.RepairOrderBytes(21);
        Assert.Equal(ProtocolError.Truncated, Err(b[..(23 + tail)]));
    }

    [Theory]
    [InlineData(1, 0x00)]
    [InlineData(7, 0x01)]
    [InlineData(9, 0x58)]
    [InlineData(16, 0x58)]
    public void Bytes_after_the_bitmap_that_are_no_target_tail_are_trailing_bytes(int tail, byte first)
    {
        var b = Samples.Concat(Samples.RepairRequestBytes(21), new byte[tail]);
        b[23] = first;
        Assert.Equal(ProtocolError.TrailingBytes, Err(b));
    }

    [Fact]
    public void Target_mode_and_port_out_of_range()
    {
        var b = Samples.RepairOrderBytes(21);
        b[30] = 2;
        Assert.Equal(ProtocolError.FieldOutOfRange, Err(b));
        b = Samples.WithU16(Samples.RepairOrderBytes(21), 28, 0);
        Assert.Equal(ProtocolError.FieldOutOfRange, Err(b));
        var r = new RepairRequest { NodeId = 1, ImageId = 1, ChunkCount = 8, MissingBuffer = new byte[1], HasTarget = true, TargetPort = 1, TargetMode = 2 };
        Assert.Throws<ProtocolException>(() => r.Encode(new byte[64], 0));
    }
}
