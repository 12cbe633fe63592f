using IotOta.Shared.Protocol;

namespace IotOta.Shared.Tests.Protocol;

public class ImageRootTests
{
    private static ProtocolError Err(byte[] b) => Samples.ErrorOf((x, o, c) => new ImageRoot().Parse(x, o, c), b);

    [Fact]
    public void Round_trip()
    {
        var r = Samples.SampleRoot();
        r.Flags = Manifest.FlagRollback;
        var d = ImageRoot.Decode(r.ToBytes(), 0, ImageRoot.EncodedLength);
        Assert.Equal(77u, d.ImageId);
        Assert.True(d.Version.SameAs(new FirmwareVersion(2, 1, 3)));
        Assert.True(d.IsRollback);
        Assert.Equal(ChunkHashKind.HmacSha256PublicKey, d.HashKind);
        Assert.Equal((1000u, 256, 4, 3), (d.ImageSize, d.ChunkSize, d.ChunkCount, d.HashesPerPiece));
        Assert.Equal(2, d.PieceCount);
        Assert.Equal(3, d.HashesIn(0));
        Assert.Equal(1, d.HashesIn(1));
        Assert.Equal(Samples.Filled(32, 1), d.ImageHash);
        Assert.Equal(Samples.Filled(32, 2), d.HashListRoot);
        Assert.Equal(5, d.KeyId);
        Assert.Equal(Samples.Filled(64, 3), d.Signature);
        Assert.Equal(1000 - 3 * 256, d.ChunkLength(3));
    }

    [Fact]
    public void Golden_layout()
    {
        var b = Samples.ImageRootBytes();
        Assert.Equal(160, b.Length);
        Assert.Equal(160, ImageRoot.EncodedLength);
        Assert.Equal(95, ImageRoot.SignedLength);
        Assert.Equal(new byte[] { 0x49, 0x4F, 2, 10 }, b[0..4]);
        Assert.Equal(new byte[] { 77, 0, 0, 0 }, b[4..8]);
        Assert.Equal(new byte[] { 2, 0, 1, 0, 3, 0 }, b[8..14]);
        Assert.Equal(0, b[14]);
        Assert.Equal(1, b[15]);
        Assert.Equal(new byte[] { 0xE8, 0x03, 0, 0 }, b[16..20]);
        Assert.Equal(new byte[] { 0, 1, 0, 0 }, b[20..24]);
        Assert.Equal(new byte[] { 4, 0, 0, 0 }, b[24..28]);
        Assert.Equal(new byte[] { 3, 0 }, b[28..30]);
        Assert.Equal(Samples.Filled(32, 1), b[30..62]);
        Assert.Equal(Samples.Filled(32, 2), b[62..94]);
        Assert.Equal(5, b[94]);
        Assert.Equal(64, b[95]);
        Assert.Equal(Samples.Filled(64, 3), b[96..160]);
    }

    [Fact]
    public void A_v1_manifest_is_a_version_error_never_a_misparse()
    {
        var ex = Assert.Throws<ProtocolException>(() => new ImageRoot().Parse(Samples.ManifestBytes(), 0, Samples.ManifestBytes().Length));
        Assert.Equal(ProtocolError.UnsupportedVersion, ex.Error);
        Assert.Contains("v1 Manifest", ex.Message);
    }

    [Fact]
    public void A_v1_decoder_refuses_the_root_as_a_version_error()
    {
        // What a device built before v2 does with a root: its header check sees version 2 on a type it does not know.
        var b = Samples.ImageRootBytes();
        Assert.Equal(ProtocolError.UnsupportedVersion, Samples.ErrorOf((x, o, c) => Manifest.Decode(x, o, c), Samples.WithByte(b, 3, 1)));
        Assert.Equal(MessageType.ImageRoot, WireHeader.Peek(b, 0, b.Length));
        Assert.Equal((MessageType)0, WireHeader.Peek(Samples.WithByte(b, 2, 1), 0, b.Length));
    }

    [Theory]
    [InlineData(16, 0u)]          // image size 0
    [InlineData(16, 67108865u)]   // image size above 64 MiB
    [InlineData(20, 255u)]        // chunk size below 256
    [InlineData(20, 65537u)]      // chunk size above 64 KiB
    public void Sizes_out_of_range(int at, uint value)
    {
        Assert.Equal(ProtocolError.FieldOutOfRange, Err(Samples.WithU32(Samples.ImageRootBytes(), at, value)));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1025)]
    public void Hashes_per_piece_out_of_range(int v)
    {
        Assert.Equal(ProtocolError.FieldOutOfRange, Err(Samples.WithU16(Samples.ImageRootBytes(), 28, v)));
    }

    [Fact]
    public void Chunk_count_must_match_and_kind_and_signature_length_are_checked()
    {
        Assert.Equal(ProtocolError.LengthMismatch, Err(Samples.WithU32(Samples.ImageRootBytes(), 24, 5)));
        Assert.Equal(ProtocolError.FieldOutOfRange, Err(Samples.WithByte(Samples.ImageRootBytes(), 15, 2)));
        Assert.Equal(ProtocolError.FieldOutOfRange, Err(Samples.WithByte(Samples.ImageRootBytes(), 95, 63)));
    }

    [Fact]
    public void A_failed_parse_keeps_the_previous_root()
    {
        var r = new ImageRoot();
        var good = Samples.ImageRootBytes();
        r.Parse(good, 0, good.Length);
        Assert.Throws<ProtocolException>(() => r.Parse(Samples.WithU32(good, 4, 99).AsSpan(0, 100).ToArray(), 0, 100));
        Assert.Throws<ProtocolException>(() => r.Parse(Samples.WithU16(Samples.WithU32(good, 4, 99), 28, 0), 0, good.Length));
        Assert.Equal(77u, r.ImageId);
        Assert.Equal(3, r.HashesPerPiece);
    }

    [Fact]
    public void Encode_refuses_an_inconsistent_root()
    {
        var r = Samples.SampleRoot();
        r.ChunkCount = 5;
        Assert.Equal(ProtocolError.LengthMismatch, Assert.Throws<ProtocolException>(() => r.ToBytes()).Error);
        r = Samples.SampleRoot();
        r.Signature = new byte[10];
        Assert.Equal(ProtocolError.FieldOutOfRange, Assert.Throws<ProtocolException>(() => r.ToBytes()).Error);
    }
}
