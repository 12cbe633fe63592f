using IotOta.Shared.Protocol;

namespace IotOta.Shared.Tests.Protocol;

public class MemberListUpdateTests
{
    private static ProtocolError Err(byte[] b) => Samples.ErrorOf((x, o, c) => new MemberListUpdate().Parse(x, o, c), b);

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(MemberListUpdate.MaxMembers)]
    public void Round_trip(int count)
    {
        var b = Samples.MemberListBytes(count);
        Assert.Equal(MemberListUpdate.EncodedLength(count), b.Length);
        var d = new MemberListUpdate();
        d.Parse(b, 0, b.Length);
        Assert.Equal(3, d.GroupId);
        Assert.Equal(17u, d.Epoch);
        Assert.Equal(count, d.Count);
        for (int i = 0; i < count; i++)
        {
            Assert.Equal((uint)(500 + i), d.NodeIds[i]);
            Assert.Equal(0xC0A80000u + (uint)i, d.Ips[i]);
            Assert.Equal(5000 + i, d.Ports[i]);
        }
        Assert.Equal(b, d.ToBytes());
    }

    [Fact]
    public void Reused_instance_keeps_larger_arrays()
    {
        var d = new MemberListUpdate();
        var big = Samples.MemberListBytes(10);
        var small = Samples.MemberListBytes(2);
        d.Parse(big, 0, big.Length);
        var arr = d.NodeIds;
        d.Parse(small, 0, small.Length);
        Assert.Same(arr, d.NodeIds);
        Assert.Equal(2, d.Count);
        Assert.Equal(small, d.ToBytes());
    }

    [Fact]
    public void Failed_parse_leaves_the_previous_list()
    {
        var d = new MemberListUpdate();
        var good = Samples.MemberListBytes(2);
        d.Parse(good, 0, good.Length);
        Assert.Throws<ProtocolException>(() => d.Parse(good, 0, good.Length - 1));
        Assert.Equal(2, d.Count);
        Assert.Equal(17u, d.Epoch);
    }

    [Fact]
    public void Golden_layout()
    {
        var b = Samples.MemberListBytes(1);
        Assert.Equal(12 + 10, b.Length);
        Assert.Equal(new byte[] { 0x49, 0x4F, 1, 6 }, b[0..4]);
        Assert.Equal(new byte[] { 3, 0 }, b[4..6]);
        Assert.Equal(new byte[] { 17, 0, 0, 0 }, b[6..10]);
        Assert.Equal(new byte[] { 1, 0 }, b[10..12]);
        Assert.Equal(new byte[] { 0xF4, 1, 0, 0 }, b[12..16]);
        Assert.Equal(new byte[] { 0, 0, 0xA8, 0xC0 }, b[16..20]);
        Assert.Equal(new byte[] { 0x88, 0x13 }, b[20..22]);
    }

    [Theory]
    [InlineData(MemberListUpdate.MaxMembers + 1)]
    [InlineData(65535)]
    public void Count_out_of_range(int n)
    {
        Assert.Equal(ProtocolError.FieldOutOfRange, Err(Samples.WithU16(Samples.MemberListBytes(3), 10, n)));
    }

    [Fact]
    public void Count_not_matching_entries()
    {
        var b = Samples.MemberListBytes(3);
        Assert.Equal(ProtocolError.Truncated, Err(Samples.WithU16(b, 10, 4)));
        Assert.Equal(ProtocolError.TrailingBytes, Err(Samples.WithU16(b, 10, 2)));
        Assert.Equal(ProtocolError.TrailingBytes, Err(Samples.WithU16(b, 10, 0)));
    }

    [Fact]
    public void Encode_refuses_bad_count()
    {
        var m = new MemberListUpdate { Count = MemberListUpdate.MaxMembers + 1 };
        Assert.Equal(ProtocolError.FieldOutOfRange, Assert.Throws<ProtocolException>(() => m.Encode(new byte[20000], 0)).Error);
        m.Count = -1;
        Assert.Equal(ProtocolError.FieldOutOfRange, Assert.Throws<ProtocolException>(() => m.Encode(new byte[20000], 0)).Error);
    }
}
