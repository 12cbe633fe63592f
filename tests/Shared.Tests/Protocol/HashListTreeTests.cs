using System.Security.Cryptography;
using FsCheck;
using FsCheck.Xunit;
using IotOta.Shared.Protocol;

namespace IotOta.Shared.Tests.Protocol;

/// <summary>The hash-list tree against an independent reference built here with .NET's SHA-256: every piece of every
/// list verifies with its proof, and any change to a hash, the proof, the piece number or the root fails.</summary>
public class HashListTreeTests
{
    internal sealed class Digest : IHashListDigest
    {
        private readonly IncrementalHash _h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        public void Begin() { }
        public void Append(byte[] data, int offset, int count) => _h.AppendData(data, offset, count);
        public void Finish(byte[] output, int outputOffset) => _h.GetHashAndReset().CopyTo(output, outputOffset);
    }

    /// <summary>Reference: levels of the tree as lists; leaf = H(00 ‖ u16 p ‖ u16 n ‖ hashes), node = H(01 ‖ l ‖ r), odd last moves up.</summary>
    internal static (byte[] Root, List<byte[]>[] Proofs) Reference(byte[] hashes, int count, int perPiece)
    {
        int pieces = (count + perPiece - 1) / perPiece;
        var level = new List<byte[]>();
        for (int p = 0; p < pieces; p++)
        {
            int n = Math.Min(perPiece, count - p * perPiece);
            level.Add(SHA256.HashData([0, (byte)p, (byte)(p >> 8), (byte)n, (byte)(n >> 8), .. hashes.AsSpan(p * perPiece * 32, n * 32)]));
        }
        var proofs = Enumerable.Range(0, pieces).Select(_ => new List<byte[]>()).ToArray();
        var pos = Enumerable.Range(0, pieces).ToArray();
        while (level.Count > 1)
        {
            for (int p = 0; p < pieces; p++)
            {
                int sib = pos[p] ^ 1;
                if (sib < level.Count) proofs[p].Add(level[sib]);
                pos[p] >>= 1;
            }
            var up = new List<byte[]>();
            for (int i = 0; i < level.Count; i += 2)
                up.Add(i + 1 < level.Count ? SHA256.HashData([1, .. level[i], .. level[i + 1]]) : level[i]);
            level = up;
        }
        return (level[0], proofs);
    }

    [Property(MaxTest = 60)]
    public void Every_piece_verifies_and_any_change_fails(PositiveInt chunks, PositiveInt perPiece, int flip)
    {
        int count = 1 + chunks.Get % 300, per = 1 + perPiece.Get % 20;
        var hashes = Samples.Filled(count * 32, count * 31 + per);
        var (root, proofs) = Reference(hashes, count, per);
        int pieces = proofs.Length;
        var d = new Digest();
        var scratch = new byte[HashListTree.ScratchLength];
        for (int p = 0; p < pieces; p++)
        {
            int n = Math.Min(per, count - p * per);
            var proof = proofs[p].SelectMany(x => x).ToArray();
            Assert.Equal(proofs[p].Count, HashListTree.ProofLength(pieces, p));
            Assert.True(HashListTree.Verify(d, root, 0, p, pieces, hashes, p * per * 32, n, proof, 0, proofs[p].Count, scratch));
            // A changed hash, proof byte or root, or the piece claimed at another position, fails.
            var bad = (byte[])hashes.Clone();
            bad[p * per * 32 + (int)((uint)flip % (uint)(n * 32))] ^= 1;
            Assert.False(HashListTree.Verify(d, root, 0, p, pieces, bad, p * per * 32, n, proof, 0, proofs[p].Count, scratch));
            if (proof.Length > 0)
            {
                var badProof = (byte[])proof.Clone();
                badProof[(int)((uint)flip % (uint)proof.Length)] ^= 0x80;
                Assert.False(HashListTree.Verify(d, root, 0, p, pieces, hashes, p * per * 32, n, badProof, 0, proofs[p].Count, scratch));
            }
            var badRoot = (byte[])root.Clone();
            badRoot[0] ^= 1;
            Assert.False(HashListTree.Verify(d, badRoot, 0, p, pieces, hashes, p * per * 32, n, proof, 0, proofs[p].Count, scratch));
            if (pieces > 1)
                Assert.False(HashListTree.Verify(d, root, 0, (p + 1) % pieces, pieces, hashes, p * per * 32, n, proof, 0, proofs[p].Count, scratch));
        }
    }

    [Property(MaxTest = 40)]
    public void Build_gives_the_reference_root_and_proofs(PositiveInt chunks, PositiveInt perPiece)
    {
        int count = 1 + chunks.Get % 200, per = 1 + perPiece.Get % 16;
        var hashes = Samples.Filled(count * 32, count + 7 * per);
        var (root, proofs) = Reference(hashes, count, per);
        for (int p = 0; p < proofs.Length; p++)
        {
            var r = new byte[32];
            var proof = new byte[32 * HashListTree.MaxProof];
            int k = HashListTree.Build(new Digest(), hashes, count, per, r, p, proof);
            Assert.Equal(root, r);
            Assert.Equal(proofs[p].Count, k);
            Assert.Equal(proofs[p].SelectMany(x => x).ToArray(), proof[..(32 * k)]);
        }
    }

    [Fact]
    public void Inconsistent_arguments_are_false_not_exceptions()
    {
        var d = new Digest();
        var h = new byte[32];
        Assert.False(HashListTree.Verify(d, h, 0, 0, 0, h, 0, 1, h, 0, 0, new byte[HashListTree.ScratchLength]));
        Assert.False(HashListTree.Verify(d, h, 0, 2, 2, h, 0, 1, h, 0, 1, new byte[HashListTree.ScratchLength]));
        Assert.False(HashListTree.Verify(d, h, 0, 0, 2, h, 0, 1, h, 0, 0, new byte[HashListTree.ScratchLength]));
        Assert.False(HashListTree.Verify(d, h, 0, 0, 1, h, 0, 1, h, 0, 0, new byte[10]));
    }

    [Theory]
    [InlineData(1, 0, 0)]
    [InlineData(2, 1, 1)]
    [InlineData(3, 2, 1)]   // the odd last leaf moves up once, then meets the pair's node
    [InlineData(5, 4, 1)]
    [InlineData(16384, 0, 14)]
    public void Proof_lengths(int pieces, int piece, int expected)
    {
        Assert.Equal(expected, HashListTree.ProofLength(pieces, piece));
    }
}
