using IotOta.Shared.Protocol;

namespace IotOta.Shared.Tests.Protocol;

public class ManifestTests
{
    private static ProtocolError Err(byte[] b) => Samples.ErrorOf((x, o, c) => Manifest.Decode(x, o, c), b);

    [Theory]
    [InlineData(1u, 256, ChunkHashKind.Sha256)]
    [InlineData(256u, 256, ChunkHashKind.HmacSha256PublicKey)]
    [InlineData(257u, 256, ChunkHashKind.Sha256)]
    [InlineData(1000u, 300, ChunkHashKind.HmacSha256PublicKey)]
    [InlineData(65536u * 3 + 5, 65536, ChunkHashKind.Sha256)]
    [InlineData(16384u * 256, 256, ChunkHashKind.Sha256)] // exactly MaxChunkCount chunks
    public void Round_trip(uint imageSize, int chunkSize, ChunkHashKind kind)
    {
        var m = Samples.SampleManifest(imageSize, chunkSize, kind);
        var b = m.ToBytes();
        Assert.Equal(Manifest.EncodedLength(m.ChunkCount), b.Length);
        Assert.Equal(b.Length - 1 - Manifest.SignatureLength, m.SignedLength);

        var d = Manifest.Decode(b, 0, b.Length);
        Assert.Equal(m.ImageId, d.ImageId);
        Assert.True(m.Version.SameAs(d.Version));
        Assert.Equal(m.Flags, d.Flags);
        Assert.True(d.IsRollback);
        Assert.Equal(kind, d.HashKind);
        Assert.Equal(imageSize, d.ImageSize);
        Assert.Equal(chunkSize, d.ChunkSize);
        Assert.Equal(m.ChunkCount, d.ChunkCount);
        Assert.Equal(m.ImageHash, d.ImageHash);
        Assert.Equal(m.ChunkHashes, d.ChunkHashes);
        Assert.Equal(m.KeyId, d.KeyId);
        Assert.Equal(m.Signature, d.Signature);
        Assert.Equal(m.SignedLength, d.SignedLength);
        Assert.Equal(b, d.ToBytes());
    }

    [Fact]
    public void Chunk_geometry()
    {
        var m = Samples.SampleManifest(1000, 256);
        Assert.Equal(4, m.ChunkCount);
        Assert.Equal(768, m.ChunkOffset(3));
        Assert.Equal(256, m.ChunkLength(0));
        Assert.Equal(1000 - 768, m.ChunkLength(3));
        var exact = Samples.SampleManifest(1024, 256);
        Assert.Equal(256, exact.ChunkLength(3));
    }

    [Fact]
    public void Chunk_hash_equals()
    {
        var m = Samples.SampleManifest(1000, 256);
        var h = new byte[40];
        Array.Copy(m.ChunkHashes, 2 * 32, h, 5, 32);
        Assert.True(m.ChunkHashEquals(2, h, 5));
        Assert.False(m.ChunkHashEquals(1, h, 5));
    }

    [Fact]
    public void Unsigned_manifest_encodes_zero_signature()
    {
        var m = Samples.SampleManifest();
        m.Signature = null;
        var b = m.ToBytes();
        for (int i = b.Length - 64; i < b.Length; i++) Assert.Equal(0, b[i]);
        Assert.Equal(64, b[m.SignedLength]);
    }

    [Fact]
    public void Golden_layout()
    {
        var m = Samples.SampleManifest(1000, 256, ChunkHashKind.HmacSha256PublicKey);
        var b = m.ToBytes();
        Assert.Equal(126 + 32 * 4, b.Length);
        Assert.Equal(new byte[] { 0x49, 0x4F, 1, 1 }, b[0..4]);
        Assert.Equal(new byte[] { 0xD4, 0xC3, 0xB2, 0xA1 }, b[4..8]);   // image id
        Assert.Equal(new byte[] { 1, 0, 2, 0, 3, 0 }, b[8..14]);         // version
        Assert.Equal(Manifest.FlagRollback, b[14]);                      // flags
        Assert.Equal(1, b[15]);                                          // hash kind
        Assert.Equal(new byte[] { 0xE8, 0x03, 0, 0 }, b[16..20]);        // image size 1000
        Assert.Equal(new byte[] { 0, 1, 0, 0 }, b[20..24]);              // chunk size 256
        Assert.Equal(new byte[] { 4, 0, 0, 0 }, b[24..28]);              // chunk count
        Assert.Equal(m.ImageHash, b[28..60]);
        Assert.Equal(m.ChunkHashes, b[60..(60 + 128)]);
        Assert.Equal(7, b[188]);                                         // key id
        Assert.Equal(189, m.SignedLength);
        Assert.Equal(64, b[189]);                                        // signature length
        Assert.Equal(m.Signature, b[190..]);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(255)]
    public void Unknown_hash_kind_is_out_of_range(byte kind)
    {
        Assert.Equal(ProtocolError.FieldOutOfRange, Err(Samples.WithByte(Samples.ManifestBytes(), 15, kind)));
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(Manifest.MaxImageSize + 1)]
    [InlineData(uint.MaxValue)]
    public void Image_size_out_of_range(uint size)
    {
        Assert.Equal(ProtocolError.FieldOutOfRange, Err(Samples.WithU32(Samples.ManifestBytes(), 16, size)));
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(255u)]
    [InlineData(65537u)]
    [InlineData(uint.MaxValue)]
    public void Chunk_size_out_of_range(uint size)
    {
        Assert.Equal(ProtocolError.FieldOutOfRange, Err(Samples.WithU32(Samples.ManifestBytes(), 20, size)));
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(3u)]
    [InlineData(5u)]
    [InlineData(uint.MaxValue)]
    public void Chunk_count_not_matching_size_is_length_mismatch(uint count)
    {
        Assert.Equal(ProtocolError.LengthMismatch, Err(Samples.WithU32(Samples.ManifestBytes(), 24, count)));
    }

    [Fact]
    public void Too_many_chunks_is_out_of_range()
    {
        // 64 MiB in 256-byte chunks = 262144 chunks > MaxChunkCount, with a consistent count field.
        var b = Samples.WithU32(Samples.ManifestBytes(), 16, Manifest.MaxImageSize);
        b = Samples.WithU32(b, 24, Manifest.MaxImageSize / 256);
        Assert.Equal(ProtocolError.FieldOutOfRange, Err(b));
    }

    [Fact]
    public void Chunk_count_and_size_consistent_but_hash_table_short_is_truncated()
    {
        // Claims 5 chunks (1200 bytes) but carries the hash table of 4.
        var b = Samples.WithU32(Samples.ManifestBytes(), 16, 1200);
        b = Samples.WithU32(b, 24, 5);
        Assert.Equal(ProtocolError.Truncated, Err(b));
    }

    [Fact]
    public void Chunk_count_smaller_than_hash_table_is_trailing_bytes()
    {
        var b = Samples.WithU32(Samples.ManifestBytes(), 16, 700);
        b = Samples.WithU32(b, 24, 3);
        Assert.Equal(ProtocolError.TrailingBytes, Err(b));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(63)]
    [InlineData(65)]
    public void Signature_length_other_than_64_is_out_of_range(byte len)
    {
        var b = Samples.ManifestBytes();
        Assert.Equal(ProtocolError.FieldOutOfRange, Err(Samples.WithByte(b, b.Length - 65, len)));
    }

    [Fact]
    public void Encode_validates()
    {
        static ProtocolError EncodeErr(Action<Manifest> mutate)
        {
            var m = Samples.SampleManifest(1000, 256);
            mutate(m);
            return Assert.Throws<ProtocolException>(() => m.ToBytes()).Error;
        }
        Assert.Equal(ProtocolError.FieldOutOfRange, EncodeErr(m => m.Version = null!));
        Assert.Equal(ProtocolError.FieldOutOfRange, EncodeErr(m => m.ImageSize = 0));
        Assert.Equal(ProtocolError.FieldOutOfRange, EncodeErr(m => m.ChunkSize = 100));
        Assert.Equal(ProtocolError.LengthMismatch, EncodeErr(m => m.ChunkCount = 5));
        Assert.Equal(ProtocolError.FieldOutOfRange, EncodeErr(m => m.ImageHash = new byte[31]));
        Assert.Equal(ProtocolError.FieldOutOfRange, EncodeErr(m => m.ChunkHashes = new byte[32]));
        Assert.Equal(ProtocolError.FieldOutOfRange, EncodeErr(m => m.Signature = new byte[63]));
        var small = Samples.SampleManifest(1000, 256);
        Assert.Equal(ProtocolError.BufferTooSmall, Assert.Throws<ProtocolException>(() => small.Encode(new byte[100], 0)).Error);
    }
}
