using System.Security.Cryptography;

namespace IotOta.Gateway.Images;

/// <summary>Signs manifests with an ECDSA P-256 key (SHA-256, IEEE P1363 r||s). Owns the key.</summary>
public sealed class ManifestSigner : IDisposable
{
    private readonly ECDsa _key;

    public ManifestSigner(ECDsa key, byte keyId = 1)
    {
        if (key.KeySize != 256) throw new ArgumentException("the signing key must be ECDSA P-256", nameof(key));
        _key = key;
        KeyId = keyId;
    }

    public byte KeyId { get; }

    /// <summary>A fresh key (demo and tests).</summary>
    public static ManifestSigner Generate(byte keyId = 1) => new(ECDsa.Create(ECCurve.NamedCurves.nistP256), keyId);

    /// <summary>Loads a PEM private key ("-----BEGIN EC PRIVATE KEY-----" or PKCS#8); clear error when it is not P-256.</summary>
    public static ManifestSigner FromPemFile(string path, byte keyId = 1)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"signing key file not found: {path}", path);
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(File.ReadAllText(path));
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            key.Dispose();
            throw new InvalidDataException($"{path} does not hold an ECDSA private key in PEM form: {e.Message}", e);
        }
        return new ManifestSigner(key, keyId);
    }

    public byte[] SubjectPublicKeyInfo() => _key.ExportSubjectPublicKeyInfo();

    /// <summary>A verifier-side copy of the public key.</summary>
    public ECDsa PublicKey()
    {
        var pub = ECDsa.Create();
        pub.ImportSubjectPublicKeyInfo(_key.ExportSubjectPublicKeyInfo(), out _);
        return pub;
    }

    public byte[] Sign(ReadOnlySpan<byte> data) => _key.SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);

    public void Dispose() => _key.Dispose();
}
