using IotOta.Shared.Protocol;

namespace IotOta.Shared.Tests.Protocol;

public class RelayTreeTests
{
    private static ProtocolError Err(byte[] b) => Samples.ErrorOf((x, o, c) => new RelayTree().Parse(x, o, c), b);

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 1)]
    [InlineData(3, 5)]
    [InlineData(RelayTree.MaxChildren, RelayTree.MaxCandidates)]
    public void Round_trip(int children, int candidates)
    {
        var b = Samples.RelayTreeBytes(children, candidates);
        Assert.Equal(RelayTree.EncodedLength(children, children * candidates), b.Length);
        var t = new RelayTree();
        t.Parse(b, 0, b.Length);
        Assert.Equal(0xA1B2C3D4u, t.ImageId);
        Assert.Equal(7, t.GroupId);
        Assert.Equal(5u, t.Epoch);
        Assert.Equal(8, t.TreeCount);
        Assert.Equal(2, t.Tree);
        Assert.Equal(children, t.ChildCount);
        for (int c = 0; c < children; c++)
        {
            Assert.Equal(100 + c, t.ChildGroup[c]);
            Assert.Equal(candidates, t.CandidateCount[c]);
            for (int j = 0; j < candidates; j++)
            {
                int s = c * RelayTree.MaxCandidates + j;
                Assert.Equal((uint)(1000 * (c + 1) + j), t.CandidateNode[s]);
                Assert.Equal(0x0A000000u + t.CandidateNode[s], t.CandidateIp[s]);
                Assert.Equal(6000 + j, t.CandidatePort[s]);
            }
        }
        Assert.Equal(b, t.ToBytes());
    }

    [Fact]
    public void Largest_table_stays_small()
    {
        Assert.Equal(RelayTree.MaxEncodedLength, Samples.RelayTreeBytes(RelayTree.MaxChildren, RelayTree.MaxCandidates).Length);
        Assert.True(RelayTree.MaxEncodedLength < 2700, "a full table is " + RelayTree.MaxEncodedLength + " bytes");
    }

    [Fact]
    public void Golden_layout()
    {
        var b = Samples.RelayTreeBytes(1, 1);
        Assert.Equal(17 + 3 + 10, b.Length);
        Assert.Equal(new byte[] { 0x49, 0x4F, 1, 9 }, b[0..4]);
        Assert.Equal(new byte[] { 0xD4, 0xC3, 0xB2, 0xA1 }, b[4..8]);
        Assert.Equal(new byte[] { 7, 0 }, b[8..10]);
        Assert.Equal(new byte[] { 5, 0, 0, 0 }, b[10..14]);
        Assert.Equal(new byte[] { 8, 2, 1 }, b[14..17]);
        Assert.Equal(new byte[] { 100, 0, 1 }, b[17..20]);
        Assert.Equal(new byte[] { 0xE8, 3, 0, 0 }, b[20..24]);
        Assert.Equal(new byte[] { 0xE8, 3, 0, 0x0A }, b[24..28]);
        Assert.Equal(new byte[] { 0x70, 0x17 }, b[28..30]);
    }

    [Theory]
    [InlineData(14, 0)] // tree count 0
    [InlineData(14, 9)] // tree count above 8
    [InlineData(15, 8)] // tree not below the tree count
    [InlineData(16, 9)] // child count above MaxTargets
    [InlineData(19, 0)] // a child with no candidates
    [InlineData(19, 33)] // more candidates than MaxCandidates
    public void Fields_out_of_range(int at, byte value)
    {
        Assert.Equal(ProtocolError.FieldOutOfRange, Err(Samples.WithByte(Samples.RelayTreeBytes(2, 3), at, value)));
    }

    [Fact]
    public void Counts_not_matching_the_bytes()
    {
        var b = Samples.RelayTreeBytes(2, 3);
        Assert.Equal(ProtocolError.Truncated, Err(b[..^1]));
        Assert.Equal(ProtocolError.TrailingBytes, Err(Samples.Concat(b, 0)));
        Assert.Equal(ProtocolError.TrailingBytes, Err(Samples.WithByte(b, 16, 1))); // one child declared, two follow
        Assert.Equal(ProtocolError.Truncated, Err(Samples.WithByte(b, 16, 3))); // three declared, two follow
        Assert.Equal(ProtocolError.Truncated, Err(Samples.WithByte(b, 19, 4))); // first child claims one more
    }

    [Fact]
    public void Encode_refuses_bad_counts()
    {
        var t = Samples.RelayTreeSample(2, 3);
        t.ChildCount = RelayTree.MaxChildren + 1;
        Assert.Equal(ProtocolError.FieldOutOfRange, Assert.Throws<ProtocolException>(() => t.Encode(new byte[4000], 0)).Error);
        t = Samples.RelayTreeSample(2, 3);
        t.CandidateCount[1] = 0;
        Assert.Equal(ProtocolError.FieldOutOfRange, Assert.Throws<ProtocolException>(() => t.Encode(new byte[4000], 0)).Error);
        t = Samples.RelayTreeSample(2, 3);
        t.Tree = 8;
        Assert.Equal(ProtocolError.FieldOutOfRange, Assert.Throws<ProtocolException>(() => t.Encode(new byte[4000], 0)).Error);
        Assert.Equal(ProtocolError.BufferTooSmall, Assert.Throws<ProtocolException>(() => Samples.RelayTreeSample(2, 3).Encode(new byte[20], 0)).Error);
    }

    [Fact]
    public void Relays_only_its_own_tree_and_rotates_candidates_by_packet_index()
    {
        var t = Samples.RelayTreeSample(2, 3); // tree 2 of 8
        Assert.True(t.RelaysPacket(2));
        Assert.True(t.RelaysPacket(10));
        Assert.False(t.RelaysPacket(3));
        Assert.False(t.RelaysPacket(0));
        Assert.Equal(RelayTree.MaxCandidates + 2, t.SlotFor(1, 2));  // 2 mod 3
        Assert.Equal(RelayTree.MaxCandidates + 1, t.SlotFor(1, 10)); // 10 mod 3
        Assert.Equal(0, t.SlotFor(0, 18));
        t.ChildCount = 0;
        Assert.False(t.RelaysPacket(2));
    }

    [Fact]
    public void CopyFrom_copies_every_field()
    {
        var a = Samples.RelayTreeSample(3, 4);
        var b = new RelayTree();
        b.CopyFrom(a);
        Assert.Equal(a.ToBytes(), b.ToBytes());
    }
}
