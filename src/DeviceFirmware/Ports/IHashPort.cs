using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Ports
{
    /// <summary>Hash functions the platform provides (SHA-256 / HMAC-SHA256 natively on the board, System.Security on .NET).
    /// One instance is used by one thread at a time.</summary>
    public interface IHashPort
    {
        /// <summary>Writes the 32-byte hash of one chunk, computed as <paramref name="kind"/> says.</summary>
        void ChunkHash(ChunkHashKind kind, byte[] data, int offset, int count, byte[] output, int outputOffset);

        /// <summary>Streaming SHA-256 of a whole image read back from flash.</summary>
        void ImageHashBegin();
        void ImageHashAppend(byte[] data, int offset, int count);
        void ImageHashFinish(byte[] output, int outputOffset);
    }
}
