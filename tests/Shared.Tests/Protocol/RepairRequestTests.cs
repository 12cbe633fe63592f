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
}
