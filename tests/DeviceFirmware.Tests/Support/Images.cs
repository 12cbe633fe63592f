using IotOta.Gateway.Fleet;
using IotOta.Gateway.Images;
using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Tests.Support;

/// <summary>Builds real signed images, manifests and packets (via the gateway's FirmwareImage/Packetizer).</summary>
public static class Images
{
    public static byte[] RandomBytes(int length, int seed)
    {
        var b = new byte[length];
        new Random(seed).NextBytes(b);
        return b;
    }

    /// <summary>An image of <paramref name="chunks"/> chunks; the last one is <paramref name="tail"/> bytes short.</summary>
    public static FirmwareImage Create(FirmwareVersion version, int chunks = 10, int chunkSize = 256, int tail = 100,
        int seed = 1, ManifestSigner? signer = null, bool rollback = false, uint? imageId = null)
    {
        byte[] bytes = RandomBytes(chunks * chunkSize - tail, seed);
        return FirmwareImage.Create(bytes, version, signer ?? TestKeys.Trusted, chunkSize, ChunkHashKind.Sha256, imageId, rollback);
    }

    public static FirmwareVersion V(int major, int minor, int patch) => new(major, minor, patch);

    /// <summary>Re-encodes and signs a manifest (after the caller changed it).</summary>
    public static byte[] Sign(Manifest m, ManifestSigner signer)
    {
        m.KeyId = signer.KeyId;
        m.Signature = null;
        byte[] encoded = m.ToBytes();
        m.Signature = signer.Sign(encoded.AsSpan(0, m.SignedLength));
        Array.Copy(m.Signature, 0, encoded, m.SignedLength + 1, Manifest.SignatureLength);
        return encoded;
    }

    public static byte[] Original(FirmwareImage image, int index, params FleetMember[] relays)
        => new Packetizer(image).Original(index, relays);

    /// <summary>A copy of chunk <paramref name="index"/> as a peer sends it.</summary>
    public static byte[] Copy(FirmwareImage image, int index, uint sender, byte flags = 0)
    {
        Manifest m = image.Manifest;
        int len = m.ChunkLength(index);
        var buf = new byte[DataPacket.EncodedLength(0, len)];
        DataPacket.Write(new WireWriter(buf), MessageType.Copy, m.ImageId, index, flags, sender, 0, null, null, null,
            image.Bytes, m.ChunkOffset(index), len);
        return buf;
    }

    public static byte[] Chunk(FirmwareImage image, int index)
        => image.Bytes.AsSpan(image.Manifest.ChunkOffset(index), image.Manifest.ChunkLength(index)).ToArray();

    /// <summary>Hash-list piece p of a v2 image as a data packet (original or copy) naming these relays.</summary>
    public static byte[] PiecePacket(ImageRootSet set, int p, MessageType type, byte flags, uint sender, params FleetMember[] relays)
    {
        byte[] piece = set.Piece(p);
        var buf = new byte[DataPacket.EncodedLength(relays.Length, piece.Length)];
        DataPacket.Write(new WireWriter(buf), type, set.ImageId, p, (byte)(DataPacket.FlagHashPiece | flags), sender, relays.Length,
            relays.Select(r => r.NodeId).ToArray(), relays.Select(r => r.Ip).ToArray(), relays.Select(r => r.Port).ToArray(), piece, 0, piece.Length);
        return buf;
    }
}
