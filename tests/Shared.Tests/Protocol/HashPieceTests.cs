using IotOta.Shared.Protocol;

namespace IotOta.Shared.Tests.Protocol;

public class HashPieceTests
{
    private static ProtocolError Err(byte[] b) => Samples.ErrorOf((x, o, c) => new HashPiece().Parse(x, o, c), b);

    [Fact]
    public void Golden_layout()
    {
        var b = Samples.HashPieceBytes(3, 2);
        Assert.Equal(15 + 32 * 5, b.Length);
        Assert.Equal(new byte[] { 0x49, 0x4F, 2, 11 }, b[0..4]);
        Assert.Equal(new byte[] { 77, 0, 0, 0 }, b[4..8]);
        Assert.Equal(new byte[] { 1, 0 }, b[8..10]);
        Assert.Equal(new byte[] { 4, 0 }, b[10..12]);
        Assert.Equal(new byte[] { 3, 0 }, b[12..14]);
        Assert.Equal(2, b[14]);
        Assert.Equal(Samples.Filled(96, 4), b[15..111]);
        Assert.Equal(Samples.Filled(64, 5), b[111..175]);
    }

    [Fact]
    public void Parse_leaves_hashes_and_proof_in_the_buffer()
    {
        var b = Samples.Concat(new byte[] { 9, 9 }, Samples.HashPieceBytes(3, 2));
        var p = new HashPiece();
        p.Parse(b, 2, b.Length - 2);
        Assert.Equal((77u, 1, 4, 3, 2), (p.ImageId, p.Piece, p.PieceCount, p.HashCount, p.ProofCount));
        Assert.Same(b, p.Buffer);
        Assert.Equal(17, p.HashesOffset);
        Assert.Equal(17 + 96, p.ProofOffset);
    }

    [Fact]
    public void Fields_out_of_range()
    {
        var b = Samples.HashPieceBytes(3, 2);
        Assert.Equal(ProtocolError.FieldOutOfRange, Err(Samples.WithU16(b, 8, 4)));      // piece ≥ count
        Assert.Equal(ProtocolError.FieldOutOfRange, Err(Samples.WithU16(b, 10, 0)));     // no pieces
        Assert.Equal(ProtocolError.FieldOutOfRange, Err(Samples.WithU16(b, 12, 0)));     // no hashes
        Assert.Equal(ProtocolError.FieldOutOfRange, Err(Samples.WithU16(b, 12, 1025)));  // above the piece limit
        Assert.Equal(ProtocolError.FieldOutOfRange, Err(Samples.WithByte(b, 14, 17)));   // proof too long
        Assert.Equal(ProtocolError.Truncated, Err(Samples.WithU16(b, 12, 4)));           // declares more than follows
        Assert.Equal(ProtocolError.TrailingBytes, Err(Samples.WithByte(b, 14, 1)));      // declares less
    }

    [Fact]
    public void A_piece_built_from_a_real_tree_verifies_against_its_root_and_not_against_another_image()
    {
        int count = 10, per = 4;
        var hashes = Samples.Filled(count * 32, 8);
        var (rootHash, proofs) = HashListTreeTests.Reference(hashes, count, per);
        var root = new ImageRoot
        {
            ImageId = 5, Version = new FirmwareVersion(1, 0, 0), ImageSize = 2560, ChunkSize = 256, ChunkCount = count, HashesPerPiece = per,
            HashListRoot = rootHash,
        };
        var d = new HashListTreeTests.Digest();
        var scratch = new byte[HashListTree.ScratchLength];
        for (int p = 0; p < 3; p++)
        {
            int n = root.HashesIn(p);
            var proof = proofs[p].SelectMany(x => x).ToArray();
            var b = new byte[HashPiece.EncodedLength(n, proofs[p].Count)];
            HashPiece.Encode(b, 0, 5, p, 3, hashes, p * per * 32, n, proof, 0, proofs[p].Count);
            var piece = new HashPiece();
            piece.Parse(b, 0, b.Length);
            Assert.True(piece.VerifyAgainst(root, d, scratch));
            root.ImageId = 6;
            Assert.False(piece.VerifyAgainst(root, d, scratch));
            root.ImageId = 5;
        }
    }
}
