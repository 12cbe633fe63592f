using System.Security.Cryptography;
using IotOta.VirtualDevice.Platform;

namespace IotOta.VirtualDevice.Tests.Platform;

public sealed class EcdsaSignatureVerifierTests
{
    private static (byte[] buffer, byte[] sig) Signed(ECDsa key, int offset, int count)
    {
        byte[] buffer = new byte[offset + count + 7];
        new Random(3).NextBytes(buffer);
        byte[] sig = key.SignData(buffer.AsSpan(offset, count), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        Assert.Equal(64, sig.Length);
        return (buffer, sig);
    }

    [Fact]
    public void Accepts_a_real_signature()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var v = new EcdsaSignatureVerifier();
        v.Add(7, key);
        var (data, sig) = Signed(key, 5, 300);
        byte[] sigBuf = new byte[70];
        sig.CopyTo(sigBuf, 3);
        Assert.True(v.Verify(7, data, 5, 300, sigBuf, 3));
    }

    [Fact]
    public void Accepts_a_key_given_as_SubjectPublicKeyInfo()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var v = new EcdsaSignatureVerifier();
        v.Add(1, key.ExportSubjectPublicKeyInfo());
        var (data, sig) = Signed(key, 0, 100);
        Assert.True(v.Verify(1, data, 0, 100, sig, 0));
    }

    [Fact]
    public void Rejects_a_flipped_bit_in_data_or_signature()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var v = new EcdsaSignatureVerifier();
        v.Add(1, key);
        var (data, sig) = Signed(key, 0, 200);
        data[17] ^= 0x04;
        Assert.False(v.Verify(1, data, 0, 200, sig, 0));
        data[17] ^= 0x04;
        sig[40] ^= 0x01;
        Assert.False(v.Verify(1, data, 0, 200, sig, 0));
        sig[40] ^= 0x01;
        Assert.True(v.Verify(1, data, 0, 200, sig, 0));
    }

    [Fact]
    public void Rejects_unknown_key_and_other_key()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var v = new EcdsaSignatureVerifier();
        v.Add(1, other);
        var (data, sig) = Signed(key, 0, 64);
        Assert.False(v.Verify(2, data, 0, 64, sig, 0));
        Assert.False(v.Verify(1, data, 0, 64, sig, 0));
    }

    [Fact]
    public void Bad_input_returns_false_without_throwing()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var v = new EcdsaSignatureVerifier();
        v.Add(1, key);
        var (data, sig) = Signed(key, 0, 64);
        Assert.False(v.Verify(1, data, 0, 64, sig, 10));            // signature runs past the buffer
        Assert.False(v.Verify(1, data, 60, 64, sig, 0));            // data range past the buffer
        Assert.False(v.Verify(1, null!, 0, 64, sig, 0));
        Assert.False(v.Verify(1, data, 0, 64, new byte[64], 0));    // all-zero signature
    }

    [Fact]
    public void Rejects_keys_that_are_not_P256()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        using var v = new EcdsaSignatureVerifier();
        Assert.Throws<ArgumentException>(() => v.Add(1, key));
        Assert.False(v.Contains(1));
    }
}
