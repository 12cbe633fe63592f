using System.Security.Cryptography;
using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Images;

/// <summary>An image the gateway distributes: its bytes and its signed manifest (and the manifest's encoding).</summary>
public sealed class FirmwareImage
{
    private static readonly byte[] ChunkHashKey = System.Text.Encoding.ASCII.GetBytes(ChunkHashKeyText.Value);

    private FirmwareImage(byte[] bytes, Manifest manifest, byte[] manifestBytes)
    {
        Bytes = bytes;
        Manifest = manifest;
        ManifestBytes = manifestBytes;
    }

    public byte[] Bytes { get; }
    public Manifest Manifest { get; }
    public byte[] ManifestBytes { get; }
    public FirmwareVersion Version => Manifest.Version;
    public uint ImageId => Manifest.ImageId;
    public int ChunkCount => Manifest.ChunkCount;
    public int ChunkSize => Manifest.ChunkSize;

    /// <summary>An image stored earlier with the manifest signed at upload (the signing key is not needed again).
    /// Throws InvalidDataException when the bytes do not match the manifest's size and whole-image hash, and
    /// ProtocolException when the manifest does not decode.</summary>
    public static FirmwareImage FromStored(byte[] bytes, byte[] manifestBytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        ArgumentNullException.ThrowIfNull(manifestBytes);
        var m = Manifest.Decode(manifestBytes, 0, manifestBytes.Length);
        if (m.ImageSize != (uint)bytes.Length || !SHA256.HashData(bytes).AsSpan().SequenceEqual(m.ImageHash))
            throw new InvalidDataException($"stored image {m.ImageId:x8} does not match its manifest");
        return new FirmwareImage(bytes, m, manifestBytes);
    }

    /// <summary>Cuts the image into chunks, hashes each and the whole, and signs the manifest.</summary>
    public static FirmwareImage Create(byte[] image, FirmwareVersion version, ManifestSigner signer, int chunkSize = 4096,
        ChunkHashKind hashKind = ChunkHashKind.Sha256, uint? imageId = null, bool rollback = false)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Length == 0) throw new ArgumentException("the image is empty", nameof(image));
        if ((uint)image.Length > Manifest.MaxImageSize) throw new ArgumentException($"the image ({image.Length} bytes) exceeds the {Manifest.MaxImageSize}-byte limit", nameof(image));
        if (chunkSize < Manifest.MinChunkSize || chunkSize > Manifest.MaxChunkSize) throw new ArgumentOutOfRangeException(nameof(chunkSize), $"chunk size must be {Manifest.MinChunkSize}..{Manifest.MaxChunkSize}");
        int count = Manifest.ChunkCountFor((uint)image.Length, chunkSize);
        if (count > Manifest.MaxChunkCount) throw new ArgumentException($"{count} chunks exceed the limit of {Manifest.MaxChunkCount}; use larger chunks");
        byte[] whole = SHA256.HashData(image);
        var m = new Manifest
        {
            ImageId = imageId ?? BitConverter.ToUInt32(whole, 0) | 1,
            Version = version,
            Flags = rollback ? Manifest.FlagRollback : (byte)0,
            HashKind = hashKind,
            ImageSize = (uint)image.Length,
            ChunkSize = chunkSize,
            ChunkCount = count,
            ImageHash = whole,
            ChunkHashes = new byte[count * Manifest.HashLength],
            KeyId = signer.KeyId,
        };
        for (int i = 0; i < count; i++)
        {
            var chunk = image.AsSpan(m.ChunkOffset(i), m.ChunkLength(i));
            var dest = m.ChunkHashes.AsSpan(i * Manifest.HashLength, Manifest.HashLength);
            if (hashKind == ChunkHashKind.Sha256) SHA256.HashData(chunk, dest);
            else HMACSHA256.HashData(ChunkHashKey, chunk, dest);
        }
        byte[] encoded = m.ToBytes();
        m.Signature = signer.Sign(encoded.AsSpan(0, m.SignedLength));
        Array.Copy(m.Signature, 0, encoded, m.SignedLength + 1, Manifest.SignatureLength);
        return new FirmwareImage(image, m, encoded);
    }
}
