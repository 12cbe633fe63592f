using System.Security.Cryptography;
using IotOta.Gateway.Images;
using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Core.Tests.Images;

public class FirmwareImageTests
{
    private static readonly FirmwareVersion V = new(1, 2, 3);

    internal static byte[] Pattern(int length, int seed = 1)
    {
        var b = new byte[length];
        new Random(seed).NextBytes(b);
        return b;
    }

    private static bool Verifies(FirmwareImage img, ECDsa pub)
    {
        var m = img.Manifest;
        return pub.VerifyData(img.ManifestBytes.AsSpan(0, m.SignedLength), m.Signature, HashAlgorithmName.SHA256,
            DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
    }

    [Fact]
    public void ManifestIsSignedAndVerifiable()
    {
        using var signer = ManifestSigner.Generate(keyId: 3);
        var img = FirmwareImage.Create(Pattern(10_000), V, signer, chunkSize: 1024, imageId: 0x1234);
        using var pub = signer.PublicKey();
        Assert.True(Verifies(img, pub));

        // The encoded manifest decodes to the same fields and carries the same signature.
        var d = Manifest.Decode(img.ManifestBytes, 0, img.ManifestBytes.Length);
        Assert.Equal(0x1234u, d.ImageId);
        Assert.Equal(10_000u, d.ImageSize);
        Assert.Equal(1024, d.ChunkSize);
        Assert.Equal(10, d.ChunkCount);
        Assert.Equal(3, d.KeyId);
        Assert.True(d.Version.SameAs(V));
        Assert.Equal(img.Manifest.Signature, d.Signature);
        Assert.Equal(img.Manifest.SignedLength, d.SignedLength);
        Assert.Equal(SHA256.HashData(img.Bytes), d.ImageHash);
        Assert.False(d.IsRollback);
        Assert.Equal(img.Manifest.ChunkCount, img.ChunkCount);
        Assert.Equal(0x1234u, img.ImageId);
    }

    [Fact]
    public void TamperedManifestOrOtherKeyDoesNotVerify()
    {
        using var signer = ManifestSigner.Generate();
        var img = FirmwareImage.Create(Pattern(3000), V, signer, chunkSize: 512);
        byte[] tampered = (byte[])img.ManifestBytes.Clone();
        tampered[WireHeader.Length + 1] ^= 0x01; // inside the image id, under the signature
        using var pub = signer.PublicKey();
        Assert.False(pub.VerifyData(tampered.AsSpan(0, img.Manifest.SignedLength), img.Manifest.Signature, HashAlgorithmName.SHA256,
            DSASignatureFormat.IeeeP1363FixedFieldConcatenation));
        using var other = ManifestSigner.Generate();
        using var otherPub = other.PublicKey();
        Assert.False(Verifies(img, otherPub));
    }

    [Fact]
    public void RollbackFlagAndDefaultImageIdAreSet()
    {
        using var signer = ManifestSigner.Generate();
        byte[] bytes = Pattern(700);
        var img = FirmwareImage.Create(bytes, V, signer, chunkSize: 256, rollback: true);
        Assert.True(img.Manifest.IsRollback);
        Assert.Equal(BitConverter.ToUInt32(SHA256.HashData(bytes), 0) | 1, img.ImageId);
        Assert.Equal(3, img.ChunkCount);
        Assert.Equal(700 - 512, img.Manifest.ChunkLength(2));
    }

    [Theory]
    [InlineData(ChunkHashKind.Sha256)]
    [InlineData(ChunkHashKind.HmacSha256PublicKey)]
    public void ChunkHashesMatchTheirKind(ChunkHashKind kind)
    {
        using var signer = ManifestSigner.Generate();
        byte[] bytes = Pattern(5000, seed: 9);
        var img = FirmwareImage.Create(bytes, V, signer, chunkSize: 1024, hashKind: kind);
        var d = Manifest.Decode(img.ManifestBytes, 0, img.ManifestBytes.Length);
        Assert.Equal(kind, d.HashKind);
        Assert.Equal(5, d.ChunkCount);
        for (int i = 0; i < d.ChunkCount; i++)
        {
            var chunk = bytes.AsSpan(d.ChunkOffset(i), d.ChunkLength(i));
            byte[] expected = kind == ChunkHashKind.Sha256 ? SHA256.HashData(chunk) : HMACSHA256.HashData(System.Text.Encoding.ASCII.GetBytes(ChunkHashKeyText.Value), chunk);
            Assert.True(d.ChunkHashEquals(i, expected, 0), $"chunk {i} hash differs");
            // And the other kind's hash is not what is stored.
            byte[] wrong = kind == ChunkHashKind.Sha256 ? HMACSHA256.HashData(System.Text.Encoding.ASCII.GetBytes(ChunkHashKeyText.Value), chunk) : SHA256.HashData(chunk);
            Assert.False(d.ChunkHashEquals(i, wrong, 0));
        }
        Assert.Equal(904, d.ChunkLength(4));
    }

    [Fact]
    public void NullImageIsRejected()
    {
        using var signer = ManifestSigner.Generate();
        var e = Assert.Throws<ArgumentNullException>(() => FirmwareImage.Create(null!, V, signer));
        Assert.Equal("image", e.ParamName);
    }

    [Fact]
    public void EmptyImageIsRejected()
    {
        using var signer = ManifestSigner.Generate();
        var e = Assert.Throws<ArgumentException>(() => FirmwareImage.Create([], V, signer));
        Assert.Equal("image", e.ParamName);
        Assert.Contains("empty", e.Message);
    }

    [Theory]
    [InlineData(Manifest.MinChunkSize - 1)]
    [InlineData(Manifest.MaxChunkSize + 1)]
    [InlineData(0)]
    public void ChunkSizeOutOfRangeIsRejected(int chunkSize)
    {
        using var signer = ManifestSigner.Generate();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => FirmwareImage.Create(Pattern(1000), V, signer, chunkSize));
        Assert.Equal("chunkSize", e.ParamName);
        Assert.Contains("256..65536", e.Message);
    }

    [Fact]
    public void TooManyChunksIsRejectedWithAHint()
    {
        using var signer = ManifestSigner.Generate();
        byte[] big = new byte[Manifest.MaxChunkCount * Manifest.MinChunkSize + 1];
        var e = Assert.Throws<ArgumentException>(() => FirmwareImage.Create(big, V, signer, Manifest.MinChunkSize));
        Assert.Contains("larger chunks", e.Message);
        // The same image in larger chunks is fine.
        Assert.Equal(Manifest.MaxChunkCount / 2 + 1, FirmwareImage.Create(big, V, signer, 2 * Manifest.MinChunkSize).ChunkCount);
    }

    [Fact]
    public void ImageOverTheSizeLimitIsRejected()
    {
        using var signer = ManifestSigner.Generate();
        byte[] huge = new byte[Manifest.MaxImageSize + 1];
        var e = Assert.Throws<ArgumentException>(() => FirmwareImage.Create(huge, V, signer, Manifest.MaxChunkSize));
        Assert.Equal("image", e.ParamName);
        Assert.Contains("limit", e.Message);
    }

    [Fact]
    public void SignerRejectsKeysThatAreNotP256()
    {
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var e = Assert.Throws<ArgumentException>(() => new ManifestSigner(p384));
        Assert.Equal("key", e.ParamName);
    }
    [Fact]
    public void AStoredImageComesBackWithItsSignedManifestAndTamperedBytesAreRefused()
    {
        using var signer = ManifestSigner.Generate();
        var bytes = new byte[10_000];
        new Random(3).NextBytes(bytes);
        var image = FirmwareImage.Create(bytes, new FirmwareVersion(1, 2, 3), signer, 1024);
        var back = FirmwareImage.FromStored(bytes, image.ManifestBytes);
        Assert.Equal(image.ImageId, back.ImageId);
        Assert.Equal(image.ManifestBytes, back.ManifestBytes);
        Assert.Equal(image.ChunkCount, back.ChunkCount);
        var tampered = (byte[])bytes.Clone();
        tampered[5000] ^= 1;
        Assert.Throws<InvalidDataException>(() => FirmwareImage.FromStored(tampered, image.ManifestBytes));
        Assert.Throws<InvalidDataException>(() => FirmwareImage.FromStored(bytes[..9_000], image.ManifestBytes));
    }
}
