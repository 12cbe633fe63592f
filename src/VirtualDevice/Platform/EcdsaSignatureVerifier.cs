using System.Security.Cryptography;
using IotOta.DeviceFirmware.Ports;

namespace IotOta.VirtualDevice.Platform;

/// <summary>ECDSA P-256/SHA-256 verification (IEEE P1363 r||s, 64 bytes) against trusted public keys by key id.
/// Keeps its own copy of each public key. Thread-safe.</summary>
public sealed class EcdsaSignatureVerifier : ISignatureVerifier, IDisposable
{
    public const int SignatureLength = 64;

    private readonly Dictionary<byte, ECDsa> _keys = new();
    private readonly object _lock = new();

    /// <summary>Trusts the public part of <paramref name="key"/> under <paramref name="keyId"/> (replacing any earlier key).</summary>
    public void Add(byte keyId, ECDsa key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.KeySize != 256) throw new ArgumentException("only P-256 keys are supported, got a " + key.KeySize + "-bit key", nameof(key));
        ECParameters p = key.ExportParameters(false);
        Put(keyId, ECDsa.Create(p));
    }

    /// <summary>Trusts a public key given as DER SubjectPublicKeyInfo bytes.</summary>
    public void Add(byte keyId, byte[] subjectPublicKeyInfo)
    {
        ArgumentNullException.ThrowIfNull(subjectPublicKeyInfo);
        var k = ECDsa.Create();
        try
        {
            k.ImportSubjectPublicKeyInfo(subjectPublicKeyInfo, out _);
            Add(keyId, k);
        }
        finally
        {
            k.Dispose();
        }
    }

    public bool Contains(byte keyId)
    {
        lock (_lock) return _keys.ContainsKey(keyId);
    }

    public bool Verify(byte keyId, byte[] data, int offset, int count, byte[] signature, int signatureOffset)
    {
        try
        {
            if (data == null || signature == null) return false;
            if (offset < 0 || count < 0 || (long)offset + count > data.Length) return false;
            if (signatureOffset < 0 || (long)signatureOffset + SignatureLength > signature.Length) return false;
            lock (_lock)
            {
                if (!_keys.TryGetValue(keyId, out ECDsa? key)) return false;
                return key.VerifyData(data.AsSpan(offset, count), signature.AsSpan(signatureOffset, SignatureLength),
                    HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
            }
        }
        catch (Exception)
        {
            return false;
        }
    }

    public bool VerifyDigest(byte keyId, byte[] digest, int digestOffset, byte[] signature, int signatureOffset)
    {
        try
        {
            if (digest == null || signature == null) return false;
            if (digestOffset < 0 || (long)digestOffset + 32 > digest.Length) return false;
            if (signatureOffset < 0 || (long)signatureOffset + SignatureLength > signature.Length) return false;
            lock (_lock)
            {
                if (!_keys.TryGetValue(keyId, out ECDsa? key)) return false;
                return key.VerifyHash(digest.AsSpan(digestOffset, 32), signature.AsSpan(signatureOffset, SignatureLength),
                    DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
            }
        }
        catch (Exception)
        {
            return false;
        }
    }

    private void Put(byte keyId, ECDsa key)
    {
        lock (_lock)
        {
            if (_keys.TryGetValue(keyId, out ECDsa? old)) old.Dispose();
            _keys[keyId] = key;
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            foreach (ECDsa k in _keys.Values) k.Dispose();
            _keys.Clear();
        }
    }
}
