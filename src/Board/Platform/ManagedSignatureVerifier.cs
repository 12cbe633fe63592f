// The board has no ECDSA in its runtime, so the manifest signature is checked by
// the device core's managed ECDSA P-256 / SHA-256 verifier (Crypto/EcdsaP256Verifier: uint/ulong arithmetic only,
// about 2.6 KB of working arrays per check, once per manifest; see docs/protocol.md for its cost on an ESP32).
// The whole bundle is then checked against the manifest's SHA-256 before it is installed.
using IotOta.DeviceFirmware.Crypto;
using IotOta.DeviceFirmware.Ports;

namespace IotOta.Board.Platform
{
    internal sealed class ManagedSignatureVerifier : ISignatureVerifier
    {
        private readonly EcdsaP256Verifier _inner;

        /// <param name="key">BoardConfig.TrustedKey: the 65-byte uncompressed P-256 point. A key that is not one
        /// (e.g. the unconfigured all-zero default) throws ArgumentException here, at start-up, with the reason.</param>
        public ManagedSignatureVerifier(byte keyId, byte[] key)
        {
            _inner = new EcdsaP256Verifier(keyId, key);
        }

        public bool Verify(byte keyId, byte[] data, int offset, int count, byte[] signature, int signatureOffset)
        {
            return _inner.Verify(keyId, data, offset, count, signature, signatureOffset);
        }

        public bool VerifyDigest(byte keyId, byte[] digest, int digestOffset, byte[] signature, int signatureOffset)
        {
            return _inner.VerifyDigest(keyId, digest, digestOffset, signature, signatureOffset);
        }
    }
}
