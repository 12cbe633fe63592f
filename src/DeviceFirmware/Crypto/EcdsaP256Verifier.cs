using IotOta.DeviceFirmware.Ports;

namespace IotOta.DeviceFirmware.Crypto
{
    /// <summary>
    /// <see cref="ISignatureVerifier"/> in managed code for boards without ECDSA in their runtime: ECDSA P-256 over
    /// SHA-256 (<see cref="Sha256Stream"/>), signature IEEE P1363 r || s (64 bytes), one trusted key given as a
    /// 65-byte uncompressed SEC1 point (0x04 || X || Y) under one key id. Each call allocates its own working state
    /// (an <see cref="EcdsaP256"/>, a hash state; about 2 KB on .NET, see docs/protocol.md) and drops it when done,
    /// so it is thread-safe. Slow on a board (a manifest is checked once), fast enough on .NET for tests.
    /// </summary>
    public sealed class EcdsaP256Verifier : ISignatureVerifier
    {
        private readonly byte _keyId;
        private readonly byte[] _key = new byte[EcdsaP256.PublicKeyLength];

        /// <exception cref="System.ArgumentNullException">key is null.</exception>
        /// <exception cref="System.ArgumentException">key is not a 65-byte uncompressed P-256 point on the curve.</exception>
        public EcdsaP256Verifier(byte keyId, byte[] key)
        {
            if (key == null) throw new System.ArgumentNullException("key");
            if (key.Length != EcdsaP256.PublicKeyLength)
                throw new System.ArgumentException("a P-256 public key is 65 bytes (0x04 || X || Y), got " + key.Length, "key");
            if (key[0] != 0x04)
                throw new System.ArgumentException("the public key must be an uncompressed point (first byte 0x04)", "key");
            if (!new EcdsaP256().IsValidPublicKey(key, 0))
                throw new System.ArgumentException("the public key is not a point on the P-256 curve", "key");
            _keyId = keyId;
            System.Array.Copy(key, _key, key.Length);
        }

        public byte KeyId { get { return _keyId; } }

        public bool Verify(byte keyId, byte[] data, int offset, int count, byte[] signature, int signatureOffset)
        {
            if (keyId != _keyId || data == null || signature == null) return false;
            if (offset < 0 || count < 0 || offset > data.Length - count) return false;
            if (signatureOffset < 0 || signatureOffset > signature.Length - EcdsaP256.SignatureLength) return false;
            try
            {
                byte[] hash = new byte[EcdsaP256.HashLength];
                Sha256Stream sha = new Sha256Stream();
                sha.Append(data, offset, count);
                sha.Finish(hash, 0);
                return new EcdsaP256().Verify(_key, 0, hash, 0, signature, signatureOffset);
            }
            catch (System.Exception)
            {
                return false; // out of memory on a board: refuse rather than crash the receive path
            }
        }

        /// <summary>The signature over a digest the caller computed: only the <see cref="EcdsaP256"/> working state
        /// (about 2.6 KB on .NET), dropped when the check returns.</summary>
        public bool VerifyDigest(byte keyId, byte[] digest, int digestOffset, byte[] signature, int signatureOffset)
        {
            if (keyId != _keyId || digest == null || signature == null) return false;
            if (digestOffset < 0 || digestOffset > digest.Length - EcdsaP256.HashLength) return false;
            if (signatureOffset < 0 || signatureOffset > signature.Length - EcdsaP256.SignatureLength) return false;
            try
            {
                return new EcdsaP256().Verify(_key, 0, digest, digestOffset, signature, signatureOffset);
            }
            catch (System.Exception)
            {
                return false;
            }
        }
    }
}
