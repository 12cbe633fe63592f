using System.Security.Cryptography;
using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Images;

/// <summary>
/// Protocol v2 (issue #15) for one image: the signed <see cref="ImageRoot"/> (160 bytes, what each device's group topic
/// holds instead of the whole manifest) and the chunk-hash list cut into <see cref="HashPiece"/>s with their proofs,
/// each wrapped in an original DataPacket flagged <see cref="DataPacket.FlagHashPiece"/> so it travels like data.
/// </summary>
public sealed class ImageRootSet
{
    /// <summary>0: the list in <see cref="PipelinedPieces"/> pieces, none longer than one chunk with the longest proof
    /// (<see cref="ImageRoot.HashesPerPieceFitting"/>, so a piece travels in any buffer a chunk does).</summary>
    public const int DefaultHashesPerPiece = 0;

    /// <summary>How many pieces the list is cut into by default. Each piece starts in another group and lands on
    /// another member of every group, and a copy tree passes a short piece on sooner: at N = 1,000 in 9 groups the
    /// list in one 2.1 KB piece reached the last device after 3.7 s (one device sent it to 8 relays in turn, then a
    /// binary tree of depth 7 at 0.17 s a hop), and no data goes out before every device holds the list. A piece costs
    /// the first network one original per 9 groups and the proof (32 B × log2 pieces).</summary>
    public const int PipelinedPieces = 4;

    /// <summary>Hashes per piece for <see cref="PipelinedPieces"/> pieces, within what fits one chunk.</summary>
    public static int PipelinedHashesPerPiece(int chunkSize, int chunkCount) =>
        Math.Max(1, Math.Min(ImageRoot.HashesPerPieceFitting(chunkSize, chunkCount), (chunkCount + PipelinedPieces - 1) / PipelinedPieces));
    private readonly byte[][] _pieces;

    private ImageRootSet(ImageRoot root, byte[] rootBytes, byte[][] pieces)
    {
        Root = root;
        RootBytes = rootBytes;
        _pieces = pieces;
    }

    public ImageRoot Root { get; }
    public byte[] RootBytes { get; }
    public int PieceCount => _pieces.Length;
    public uint ImageId => Root.ImageId;

    /// <summary>Piece p as a HashPiece message (hashes + proof).</summary>
    public byte[] Piece(int p) => _pieces[p];

    public static ImageRootSet Create(FirmwareImage image, ManifestSigner signer, int hashesPerPiece = DefaultHashesPerPiece)
    {
        Manifest m = image.Manifest;
        if (m.KeyId != signer.KeyId) throw new ArgumentException($"the image was signed with key {m.KeyId}, the signer is key {signer.KeyId}");
        var d = new Sha256Digest();
        var root = new ImageRoot
        {
            ImageId = m.ImageId, Version = m.Version, Flags = m.Flags, HashKind = m.HashKind, ImageSize = m.ImageSize,
            ChunkSize = m.ChunkSize, ChunkCount = m.ChunkCount, HashesPerPiece = hashesPerPiece > 0 ? Math.Min(hashesPerPiece, ImageRoot.MaxHashesPerPiece) : PipelinedHashesPerPiece(m.ChunkSize, m.ChunkCount),
            ImageHash = (byte[])m.ImageHash.Clone(), KeyId = m.KeyId,
        };
        int pieces = root.PieceCount;
        var rootHash = new byte[Manifest.HashLength];
        var proof = new byte[Manifest.HashLength * HashListTree.MaxProof];
        var bytes = new byte[pieces][];
        for (int p = 0; p < pieces; p++)
        {
            int k = HashListTree.Build(d, m.ChunkHashes, m.ChunkCount, root.HashesPerPiece, rootHash, p, proof);
            int n = root.HashesIn(p);
            bytes[p] = new byte[HashPiece.EncodedLength(n, k)];
            HashPiece.Encode(bytes[p], 0, m.ImageId, p, pieces, m.ChunkHashes, p * root.HashesPerPiece * Manifest.HashLength, n, proof, 0, k);
        }
        root.HashListRoot = rootHash;
        byte[] unsigned = root.ToBytes();
        root.Signature = signer.Sign(unsigned.AsSpan(0, ImageRoot.SignedLength));
        return new ImageRootSet(root, root.ToBytes(), bytes);
    }

    /// <summary>.NET's SHA-256 behind the tree's digest interface.</summary>
    public sealed class Sha256Digest : IHashListDigest
    {
        private readonly IncrementalHash _h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        public void Begin() { }
        public void Append(byte[] data, int offset, int count) => _h.AppendData(data, offset, count);
        public void Finish(byte[] output, int outputOffset) => _h.GetHashAndReset().CopyTo(output, outputOffset);
    }
}
