// nanoFramework-only (not built here). MISSING: the board has no ECDSA; a managed P-256 verifier (once per
// manifest, slow) is not written yet. Until it is, this refuses every manifest, so a board never installs an image it
// could not check. (MCUboot still checks the image signature at boot.)
using IotOta.DeviceFirmware.Ports;

namespace IotOta.DeviceFirmware.Board
{
    internal sealed class ManagedSignatureVerifier : ISignatureVerifier
    {
        private readonly byte _keyId;
        private readonly byte[] _key;

        public ManagedSignatureVerifier(byte keyId, byte[] key) { _keyId = keyId; _key = key; }

        public bool Verify(byte keyId, byte[] data, int offset, int count, byte[] signature, int signatureOffset)
        {
            return false; // MISSING: managed ECDSA P-256 / SHA-256 verification against _key
        }
    }
}
