using System.Security.Cryptography;
using IotOta.DeviceFirmware.Ports;
using IotOta.Shared.Protocol;

namespace IotOta.VirtualDevice.Platform;

/// <summary>SHA-256 / HMAC-SHA256 from System.Security.Cryptography. ChunkHash allocates nothing. One instance per
/// thread (the image hash keeps state).</summary>
public sealed class DotNetHashPort : IHashPort, IDisposable
{
    public const int HashLength = 32;

    private readonly IncrementalHash _image = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    public void ChunkHash(ChunkHashKind kind, byte[] data, int offset, int count, byte[] output, int outputOffset)
    {
        ReadOnlySpan<byte> source = data.AsSpan(offset, count);
        Span<byte> dest = output.AsSpan(outputOffset, HashLength);
        bool ok;
        int written;
        switch (kind)
        {
            case ChunkHashKind.Sha256:
                ok = SHA256.TryHashData(source, dest, out written);
                break;
            case ChunkHashKind.HmacSha256PublicKey:
                ok = HMACSHA256.TryHashData(ChunkHashKey.Bytes, source, dest, out written);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown chunk hash kind");
        }
        if (!ok || written != HashLength) throw new CryptographicException("chunk hash did not produce 32 bytes");
    }

    public void ImageHashBegin()
    {
        Span<byte> discard = stackalloc byte[HashLength];
        _image.TryGetHashAndReset(discard, out _);
    }

    public void ImageHashAppend(byte[] data, int offset, int count) => _image.AppendData(data, offset, count);

    public void ImageHashFinish(byte[] output, int outputOffset)
    {
        if (!_image.TryGetHashAndReset(output.AsSpan(outputOffset, HashLength), out int written) || written != HashLength)
            throw new CryptographicException("image hash did not produce 32 bytes");
    }

    public void Dispose() => _image.Dispose();
}
