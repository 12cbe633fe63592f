namespace IotOta.DeviceFirmware.Ports
{
    /// <summary>Checks an ECDSA P-256/SHA-256 signature (64 bytes, r||s) over data with the trusted key of that id.
    /// Returns false for an unknown key id or a bad signature; never throws for bad input.</summary>
    public interface ISignatureVerifier
    {
        bool Verify(byte keyId, byte[] data, int offset, int count, byte[] signature, int signatureOffset);
    }
}
