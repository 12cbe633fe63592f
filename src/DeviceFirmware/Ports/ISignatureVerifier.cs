namespace IotOta.DeviceFirmware.Ports
{
    /// <summary>Checks an ECDSA P-256/SHA-256 signature (64 bytes, r||s) with the trusted key of that id.
    /// Returns false for an unknown key id or a bad signature; never throws for bad input.</summary>
    public interface ISignatureVerifier
    {
        /// <summary>The signature over data (hashed with SHA-256 here: the whole signed message in one buffer).</summary>
        bool Verify(byte keyId, byte[] data, int offset, int count, byte[] signature, int signatureOffset);

        /// <summary>The signature over a message whose SHA-256 digest (32 bytes at digestOffset) the caller computed,
        /// e.g. streaming the message from flash in bounded pieces: the check needs no buffer of the message's size.</summary>
        bool VerifyDigest(byte keyId, byte[] digest, int digestOffset, byte[] signature, int signatureOffset);
    }
}
