namespace IotOta.Shared.Protocol
{
    /// <summary>SHA-256 as the hash-list tree needs it: the device core's managed SHA-256 on a board, the platform's
    /// on the gateway. Same call shape as the device core's Sha256Stream.</summary>
    public interface IHashListDigest
    {
        void Begin();
        void Append(byte[] data, int offset, int count);
        /// <summary>Writes the 32-byte digest and leaves the instance ready for Begin.</summary>
        void Finish(byte[] output, int outputOffset);
    }
}
