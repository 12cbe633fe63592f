using IotOta.Shared.Chunking;
using IotOta.Shared.Protocol;

namespace IotOta.Shared.Tests.Protocol;

public class ProgressReportTests
{
    private static ProtocolError Err(byte[] b) => Samples.ErrorOf((x, o, c) => new ProgressReport().Parse(x, o, c), b);

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(1000)]
    [InlineData(Manifest.MaxChunkCount)]
    public void Round_trip(int chunkCount)
    {
        var bm = new PacketBitmap(chunkCount);
        for (int i = 0; i < chunkCount; i += 5) bm.Set(i);
        var p = new ProgressReport
        {
            NodeId = 99, ImageId = 0xFFFFFFFF, State = DeviceState.RolledBack, RunningVersion = new FirmwareVersion(65535, 0, 1),
            ChunkCount = chunkCount, HeldCount = bm.HeldCount, BitmapBuffer = bm.Bytes,
        };
        var b = new byte[ProgressReport.EncodedLength(chunkCount)];
        bool implied = bm.HeldCount == 0 || bm.HeldCount == chunkCount; // 0 or 1 chunk: none or all held
        int len = p.Encode(b, 0);
        Assert.Equal(implied ? ProgressReport.FixedLength : b.Length, len);
        var d = new ProgressReport();
        d.Parse(b, 0, len);
        Assert.Equal(99u, d.NodeId);
        Assert.Equal(0xFFFFFFFFu, d.ImageId);
        Assert.Equal(DeviceState.RolledBack, d.State);
        Assert.Equal("65535.0.1", d.RunningVersion.ToString());
        Assert.Equal(chunkCount, d.ChunkCount);
        Assert.Equal(bm.HeldCount, d.HeldCount);
        if (!implied) Assert.Same(b, d.BitmapBuffer);
        Assert.Equal(ProgressReport.FixedLength, d.BitmapOffset);
        for (int i = -1; i <= chunkCount; i++) Assert.Equal(bm.Get(i), d.Holds(i));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(21)]
    public void Nothing_or_everything_held_sends_no_bitmap_and_reads_back_the_same(int held)
    {
        var bm = new PacketBitmap(21);
        for (int i = 0; i < held; i++) bm.Set(i);
        var p = new ProgressReport { NodeId = 3, ImageId = 5, ChunkCount = 21, HeldCount = held, BitmapBuffer = bm.Bytes };
        var b = new byte[ProgressReport.EncodedLength(21)];
        int len = p.Encode(b, 0);
        Assert.Equal(ProgressReport.FixedLength, len); // the 3 bitmap bytes are implied by the counts
        Assert.Equal(new byte[] { 0, 0 }, b[(len - 2)..len]);
        var d = new ProgressReport();
        d.Parse(b, 0, len);
        Assert.Null(d.BitmapBuffer);
        for (int i = 0; i < 21; i++) Assert.Equal(held == 21, d.Holds(i));
        // A bitmap left out while only some are held is refused, never misread.
        Assert.Equal(ProtocolError.LengthMismatch, Err(Samples.WithU32(b[..len], 23, 7)));
    }

    [Fact]
    public void Missing_version_encodes_as_zero()
    {
        var p = new ProgressReport { NodeId = 1, ChunkCount = 0 };
        var b = new byte[ProgressReport.EncodedLength(0)];
        p.Encode(b, 0);
        var d = new ProgressReport();
        d.Parse(b, 0, b.Length);
        Assert.True(d.RunningVersion.SameAs(FirmwareVersion.Zero));
    }

    [Fact]
    public void Golden_layout()
    {
        var b = Samples.ProgressReportBytes(21);
        Assert.Equal(29 + 3, b.Length);
        Assert.Equal(new byte[] { 0x49, 0x4F, 1, 5 }, b[0..4]);
        Assert.Equal(new byte[] { 12, 0, 0, 0 }, b[4..8]);
        Assert.Equal(new byte[] { 77, 0, 0, 0 }, b[8..12]);
        Assert.Equal((byte)DeviceState.Receiving, b[12]);
        Assert.Equal(new byte[] { 1, 0, 0, 0, 0, 0 }, b[13..19]);
        Assert.Equal(new byte[] { 21, 0, 0, 0 }, b[19..23]);
        Assert.Equal(new byte[] { 7, 0, 0, 0 }, b[23..27]); // held: 0,3,...,18
        Assert.Equal(new byte[] { 3, 0 }, b[27..29]);
        Assert.Equal(new byte[] { 0b0100_1001, 0b1001_0010, 0b0000_0100 }, b[29..32]);
    }

    [Theory]
    [InlineData(8)]
    [InlineData(255)]
    public void State_out_of_range(byte s)
    {
        Assert.Equal(ProtocolError.FieldOutOfRange, Err(Samples.WithByte(Samples.ProgressReportBytes(21), 12, s)));
    }

    [Theory]
    [InlineData((uint)Manifest.MaxChunkCount + 1)]
    [InlineData(uint.MaxValue)]
    public void Chunk_count_out_of_range(uint cc)
    {
        Assert.Equal(ProtocolError.FieldOutOfRange, Err(Samples.WithU32(Samples.ProgressReportBytes(21), 19, cc)));
    }

    [Theory]
    [InlineData(22u)]
    [InlineData(uint.MaxValue)]
    public void Held_count_above_chunk_count_is_out_of_range(uint held)
    {
        Assert.Equal(ProtocolError.FieldOutOfRange, Err(Samples.WithU32(Samples.ProgressReportBytes(21), 23, held)));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(65535)]
    public void Bitmap_length_not_fitting_chunk_count_is_length_mismatch(int n)
    {
        Assert.Equal(ProtocolError.LengthMismatch, Err(Samples.WithU16(Samples.ProgressReportBytes(21), 27, n)));
    }

    [Fact]
    public void Chunk_count_change_that_keeps_bitmap_length_still_decodes()
    {
        // 17..24 chunks all need 3 bitmap bytes.
        var b = Samples.WithU32(Samples.ProgressReportBytes(21), 19, 24);
        var d = new ProgressReport();
        d.Parse(b, 0, b.Length);
        Assert.Equal(24, d.ChunkCount);
    }
}
