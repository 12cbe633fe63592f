using System.Security.Cryptography;
using IotOta.DeviceFirmware.Crypto;
using IotOta.DeviceFirmware.Tests.Support;
using IotOta.Gateway.Images;
using IotOta.Shared.Protocol;
using static IotOta.DeviceFirmware.Tests.Crypto.P256TestMath;

namespace IotOta.DeviceFirmware.Tests.Crypto;

public class EcdsaP256VerifierTests
{
    private static byte[] KeyOf(ManifestSigner signer)
    {
        using ECDsa pub = signer.PublicKey();
        return PublicKey(pub);
    }

    [Fact]
    public void A_manifest_signed_by_the_gateway_verifies_end_to_end()
    {
        FirmwareImage img = Images.Create(Images.V(2, 0, 0), chunks: 12);
        byte[] bytes = img.ManifestBytes;
        Manifest m = Manifest.Decode(bytes, 0, bytes.Length);
        var v = new EcdsaP256Verifier(TestKeys.TrustedId, KeyOf(TestKeys.Trusted));
        Assert.True(v.Verify(m.KeyId, bytes, 0, m.SignedLength, m.Signature, 0));
        // the signature read in place, the manifest at an offset inside a larger receive buffer
        byte[] framed = [0xAA, 0xBB, 0xCC, .. bytes];
        Assert.True(v.Verify(m.KeyId, framed, 3, m.SignedLength, framed, 3 + m.SignedLength + 1));
    }

    [Fact]
    public void A_tampered_manifest_or_another_signer_fails()
    {
        FirmwareImage img = Images.Create(Images.V(2, 0, 0));
        byte[] bytes = img.ManifestBytes;
        Manifest m = Manifest.Decode(bytes, 0, bytes.Length);
        var v = new EcdsaP256Verifier(TestKeys.TrustedId, KeyOf(TestKeys.Trusted));
        for (int i = 0; i < m.SignedLength; i += 7)
        {
            byte[] t = (byte[])bytes.Clone();
            t[i] ^= 0x10;
            Assert.False(v.Verify(m.KeyId, t, 0, m.SignedLength, m.Signature, 0), $"byte {i}");
        }
        FirmwareImage forged = Images.Create(Images.V(2, 0, 0), signer: TestKeys.Impostor);
        Manifest f = Manifest.Decode(forged.ManifestBytes, 0, forged.ManifestBytes.Length);
        Assert.Equal(TestKeys.TrustedId, f.KeyId);
        Assert.False(v.Verify(f.KeyId, forged.ManifestBytes, 0, f.SignedLength, f.Signature, 0));
    }

    [Fact]
    public void An_unknown_key_id_fails()
    {
        FirmwareImage img = Images.Create(Images.V(2, 0, 0), signer: TestKeys.Unknown);
        byte[] bytes = img.ManifestBytes;
        Manifest m = Manifest.Decode(bytes, 0, bytes.Length);
        var right = new EcdsaP256Verifier(TestKeys.UnknownId, KeyOf(TestKeys.Unknown));
        Assert.True(right.Verify(m.KeyId, bytes, 0, m.SignedLength, m.Signature, 0));
        var trustsOnlyId1 = new EcdsaP256Verifier(TestKeys.TrustedId, KeyOf(TestKeys.Unknown));
        Assert.False(trustsOnlyId1.Verify(m.KeyId, bytes, 0, m.SignedLength, m.Signature, 0));
    }

    [Fact]
    public void Agrees_with_the_virtual_devices_platform_verifier_on_random_data()
    {
        using var platform = new IotOta.VirtualDevice.Platform.EcdsaSignatureVerifier();
        platform.Add(TestKeys.TrustedId, TestKeys.Trusted.PublicKey());
        var managed = new EcdsaP256Verifier(TestKeys.TrustedId, KeyOf(TestKeys.Trusted));
        var rng = new Random(17);
        for (int i = 0; i < 200; i++)
        {
            byte[] data = new byte[rng.Next(1, 2000)];
            rng.NextBytes(data);
            int off = rng.Next(data.Length), count = rng.Next(data.Length - off + 1);
            byte[] sig = TestKeys.Trusted.Sign(data.AsSpan(off, count));
            if (i % 3 == 1) sig[rng.Next(64)] ^= (byte)(1 << rng.Next(8));
            if (i % 3 == 2) data[off + (count == 0 ? 0 : rng.Next(count))] ^= 1;
            bool expected = platform.Verify(TestKeys.TrustedId, data, off, count, sig, 0);
            Assert.Equal(i % 3 == 0 || (i % 3 == 2 && count == 0), expected); // sanity of the setup itself
            Assert.Equal(expected, managed.Verify(TestKeys.TrustedId, data, off, count, sig, 0));
        }
    }

    [Fact]
    public void Bad_ranges_return_false_and_never_throw()
    {
        var v = new EcdsaP256Verifier(TestKeys.TrustedId, KeyOf(TestKeys.Trusted));
        byte[] data = new byte[100];
        byte[] sig = TestKeys.Trusted.Sign(data);
        Assert.True(v.Verify(TestKeys.TrustedId, data, 0, 100, sig, 0));
        Assert.False(v.Verify(TestKeys.TrustedId, null!, 0, 0, sig, 0));
        Assert.False(v.Verify(TestKeys.TrustedId, data, 0, 100, null!, 0));
        Assert.False(v.Verify(TestKeys.TrustedId, data, -1, 10, sig, 0));
        Assert.False(v.Verify(TestKeys.TrustedId, data, 0, -1, sig, 0));
        Assert.False(v.Verify(TestKeys.TrustedId, data, 1, 100, sig, 0));
        Assert.False(v.Verify(TestKeys.TrustedId, data, int.MaxValue, int.MaxValue, sig, 0));
        Assert.False(v.Verify(TestKeys.TrustedId, data, 0, 100, sig, 1));
        Assert.False(v.Verify(TestKeys.TrustedId, data, 0, 100, sig, -1));
        Assert.False(v.Verify(TestKeys.TrustedId, data, 0, 100, new byte[63], 0));
    }

    [Fact]
    public void A_malformed_trusted_key_is_a_clear_error_at_construction()
    {
        byte[] good = KeyOf(TestKeys.Trusted);
        Assert.Throws<ArgumentNullException>(() => new EcdsaP256Verifier(1, null!));
        var e1 = Assert.Throws<ArgumentException>(() => new EcdsaP256Verifier(1, good[..64]));
        Assert.Contains("65 bytes", e1.Message);
        byte[] compressed = (byte[])good.Clone();
        compressed[0] = 3;
        var e2 = Assert.Throws<ArgumentException>(() => new EcdsaP256Verifier(1, compressed));
        Assert.Contains("uncompressed", e2.Message);
        byte[] off = (byte[])good.Clone();
        off[40] ^= 4;
        var e3 = Assert.Throws<ArgumentException>(() => new EcdsaP256Verifier(1, off));
        Assert.Contains("not a point on the P-256 curve", e3.Message);
        byte[] unconfigured = new byte[65];  // the board's BoardConfig.TrustedKey until someone fills it in
        Assert.Throws<ArgumentException>(() => new EcdsaP256Verifier(1, unconfigured));
        // the verifier keeps its own copy of the key
        byte[] mine = (byte[])good.Clone();
        var v = new EcdsaP256Verifier(1, mine);
        mine[10] ^= 1;
        byte[] data = [1, 2, 3];
        Assert.True(v.Verify(1, data, 0, 3, TestKeys.Trusted.Sign(data), 0));
        Assert.Equal(1, v.KeyId);
    }
}
