using IotOta.DeviceFirmware.Flash;
using IotOta.DeviceFirmware.Ports;
using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Receive
{
    /// <summary>
    /// The manifest's signature check with bounded scratch. The signature (ECDSA P-256) is over the SHA-256 of the
    /// manifest's signed bytes, so the bytes are streamed through the hash port's SHA-256 (the one the install uses
    /// for the whole image) and only the 32-byte digest goes to the verifier: no buffer of the manifest's size, on
    /// arrival (the bytes are in the message) or at boot (read back from flash <see cref="PieceLength"/> bytes at a
    /// time). The verifier's working state is its own and dropped when it returns. Not thread-safe: used under the
    /// agent's lock, like every other use of the hash port.
    /// </summary>
    public sealed class ManifestSignature
    {
        /// <summary>Bytes of flash read per step at boot; also holds a manifest's fixed head and tail for decoding.</summary>
        public const int PieceLength = 128;

        private readonly IHashPort _hash;
        private readonly ISignatureVerifier _verifier;
        private readonly byte[] _digest = new byte[Manifest.HashLength];
        private readonly byte[] _piece = new byte[PieceLength];

        public ManifestSignature(IHashPort hash, ISignatureVerifier verifier)
        {
            _hash = hash;
            _verifier = verifier;
        }

        /// <summary>Scratch of <see cref="PieceLength"/> bytes for reading a stored manifest (under the lock).</summary>
        public byte[] Piece { get { return _piece; } }

        /// <summary>True when m's signature verifies over its encoded bytes at buffer[offset..] (m decoded from them).</summary>
        public bool Verifies(Manifest m, byte[] buffer, int offset)
        {
            _hash.ImageHashBegin();
            _hash.ImageHashAppend(buffer, offset, m.SignedLength);
            _hash.ImageHashFinish(_digest, 0);
            return _verifier.VerifyDigest(m.KeyId, _digest, 0, m.Signature, 0);
        }

        /// <summary>True when the stored manifest m's signature verifies over its signed bytes as flash holds them now,
        /// read in pieces of <see cref="PieceLength"/> bytes.</summary>
        public bool StoredVerifies(Manifest m, UpdateStateStore store)
        {
            _hash.ImageHashBegin();
            for (int at = 0; at < m.SignedLength; at += PieceLength)
            {
                int n = m.SignedLength - at < PieceLength ? m.SignedLength - at : PieceLength;
                store.ReadManifestPart(at, _piece, 0, n);
                _hash.ImageHashAppend(_piece, 0, n);
            }
            _hash.ImageHashFinish(_digest, 0);
            return _verifier.VerifyDigest(m.KeyId, _digest, 0, m.Signature, 0);
        }
    }
}
