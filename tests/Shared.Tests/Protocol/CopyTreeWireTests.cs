using IotOta.Shared.Protocol;

namespace IotOta.Shared.Tests.Protocol;

/// <summary>The wire parts of copy trees inside a group: the member list's fan-out tail and a copy's span.</summary>
public class CopyTreeWireTests
{
    private static MemberListUpdate List(int count, int fanout)
    {
        var m = new MemberListUpdate { GroupId = 3, Epoch = 17, Count = count, Fanout = fanout };
        m.EnsureCapacity(count);
        for (int i = 0; i < count; i++)
        {
            m.NodeIds[i] = (uint)(500 + i);
            m.Ips[i] = 0xC0A80000u + (uint)i;
            m.Ports[i] = 5000 + i;
        }
        return m;
    }

    [Theory]
    [InlineData(0, 2)]
    [InlineData(5, 1)]
    [InlineData(111, 2)]
    [InlineData(16, MemberListUpdate.MaxFanout)]
    public void A_member_list_carries_its_fanout(int count, int fanout)
    {
        byte[] b = List(count, fanout).ToBytes();
        Assert.Equal(MemberListUpdate.EncodedLength(count) + 2, b.Length);
        var d = new MemberListUpdate();
        d.Parse(b, 0, b.Length);
        Assert.Equal(fanout, d.Fanout);
        Assert.Equal(count, d.Count);
        Assert.Equal(b, d.ToBytes());
        // without the tail (an older gateway): the full mesh
        byte[] old = List(count, 0).ToBytes();
        d.Parse(old, 0, old.Length);
        Assert.Equal(0, d.Fanout);
    }

    [Fact]
    public void A_bad_fanout_tail_is_refused_and_leaves_the_previous_list()
    {
        var d = new MemberListUpdate();
        byte[] good = List(3, 2).ToBytes();
        d.Parse(good, 0, good.Length);
        byte[] zero = (byte[])good.Clone();
        zero[^1] = 0;
        Assert.Equal(ProtocolError.FieldOutOfRange, Samples.ErrorOf((x, o, c) => d.Parse(x, o, c), zero));
        byte[] big = (byte[])good.Clone();
        big[^1] = MemberListUpdate.MaxFanout + 1;
        Assert.Equal(ProtocolError.FieldOutOfRange, Samples.ErrorOf((x, o, c) => d.Parse(x, o, c), big));
        byte[] untagged = (byte[])good.Clone();
        untagged[^2] = 0x47;
        Assert.Equal(ProtocolError.TrailingBytes, Samples.ErrorOf((x, o, c) => d.Parse(x, o, c), untagged));
        Assert.Equal(2, d.Fanout);
        Assert.Equal(3, d.Count);
        Assert.Throws<ProtocolException>(() => List(1, MemberListUpdate.MaxFanout + 1).ToBytes());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(110)]
    [InlineData(65535)]
    public void A_span_copy_round_trips_and_its_span_sits_at_a_fixed_offset(int span)
    {
        byte[] payload = [1, 2, 3, 4, 5];
        var buf = new byte[DataPacket.EncodedLength(0, payload.Length) + DataPacket.SpanLength];
        var w = new WireWriter(buf);
        int at = DataPacket.WriteHeader(w, MessageType.Copy, 9, 4, DataPacket.FlagSpan, 77, 0, null!, null!, null!, payload.Length, span);
        Array.Copy(payload, 0, buf, at, payload.Length);
        var p = new DataPacket();
        p.Parse(buf, 0, w.Length);
        Assert.True(p.IsSpan);
        Assert.False(p.IsMinimumUnit);
        Assert.Equal(span, p.Span);
        Assert.Equal(payload, buf.AsSpan(p.PayloadOffset, p.PayloadLength).ToArray());
        Assert.Equal(span, buf[DataPacket.SpanOffset] | (buf[DataPacket.SpanOffset + 1] << 8));
        // a copy without the flag has no span field
        var plain = new byte[DataPacket.EncodedLength(0, payload.Length)];
        var w2 = new WireWriter(plain);
        at = DataPacket.WriteHeader(w2, MessageType.Copy, 9, 4, 0, 77, 0, null!, null!, null!, payload.Length, span);
        p.Parse(plain, 0, w2.Length);
        Assert.False(p.IsSpan);
        Assert.Equal(0, p.Span);
        Assert.Throws<ProtocolException>(() => DataPacket.WriteHeader(new WireWriter(new byte[64]), MessageType.Copy, 9, 4, DataPacket.FlagSpan, 77, 0, null!, null!, null!, 1, 65536));
    }
}
