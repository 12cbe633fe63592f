using IotOta.Shared.Protocol;

namespace IotOta.Shared.Tests.Protocol;

public class DataPacketTests
{
    private static ProtocolError Err(byte[] b) => Samples.ErrorOf((x, o, c) => new DataPacket().Parse(x, o, c), b);

    public static IEnumerable<object[]> Shapes()
    {
        foreach (var type in new[] { MessageType.Original, MessageType.Copy })
        {
            for (int targets = 0; targets <= DataPacket.MaxTargets; targets++)
            {
                yield return new object[] { type, targets, 0 };
                yield return new object[] { type, targets, 1 };
                yield return new object[] { type, targets, 300 };
            }
            yield return new object[] { type, DataPacket.MaxTargets, Manifest.MaxChunkSize };
        }
    }

    [Theory, MemberData(nameof(Shapes))]
    public void Round_trip(MessageType type, int targets, int payloadLength)
    {
        var node = new uint[DataPacket.MaxTargets];
        var ip = new uint[DataPacket.MaxTargets];
        var port = new int[DataPacket.MaxTargets];
        for (int i = 0; i < targets; i++)
        {
            node[i] = uint.MaxValue - (uint)i;
            ip[i] = 0xC0A80101u + (uint)i;
            port[i] = 65535 - i;
        }
        var payload = Samples.Filled(payloadLength + 3, payloadLength);
        byte flags = type == MessageType.Copy ? (byte)(DataPacket.FlagRelay | DataPacket.FlagRepair) : (byte)0;
        var buf = new byte[DataPacket.EncodedLength(targets, payloadLength) + 5];
        var w = new WireWriter(buf, 5, buf.Length - 5);
        int written = DataPacket.Write(w, type, 0xDEADBEEF, Manifest.MaxChunkCount - 1, flags, 4242, targets, node, ip, port, payload, 3, payloadLength);
        Assert.Equal(DataPacket.EncodedLength(targets, payloadLength), written);

        var p = new DataPacket();
        p.Parse(buf, 5, written);
        Assert.Equal(type, p.Type);
        Assert.Equal(0xDEADBEEFu, p.ImageId);
        Assert.Equal(Manifest.MaxChunkCount - 1, p.Index);
        Assert.Equal(flags, p.Flags);
        Assert.Equal(4242u, p.SenderNode);
        Assert.Equal(targets, p.TargetCount);
        for (int i = 0; i < targets; i++)
        {
            Assert.Equal(node[i], p.TargetNode[i]);
            Assert.Equal(ip[i], p.TargetIp[i]);
            Assert.Equal(port[i], p.TargetPort[i]);
        }
        Assert.Same(buf, p.PayloadBuffer);
        Assert.Equal(payloadLength, p.PayloadLength);
        Assert.Equal(5 + DataPacket.FixedLength + targets * DataPacket.TargetLength, p.PayloadOffset);
        Assert.Equal(payload.AsSpan(3, payloadLength).ToArray(), buf.AsSpan(p.PayloadOffset, p.PayloadLength).ToArray());
        Assert.Equal(type == MessageType.Original, p.IsOriginal);
        Assert.Equal(type == MessageType.Copy, p.IsRelay);
        Assert.True(p.IsMinimumUnit);
    }

    [Fact]
    public void Copy_without_relay_flag_is_not_a_minimum_unit()
    {
        var b = Samples.WithByte(Samples.DataPacketBytes(MessageType.Copy, 2, 10), 12, DataPacket.FlagRepair);
        var p = new DataPacket();
        p.Parse(b, 0, b.Length);
        Assert.False(p.IsRelay);
        Assert.False(p.IsMinimumUnit);
    }

    [Theory]
    [InlineData(MessageType.Original, 0x04, true, true)]
    [InlineData(MessageType.Copy, 0x05, true, true)]   // tree relay copy: a minimum unit that relays on
    [InlineData(MessageType.Copy, 0x01, false, true)]  // plain relay copy
    [InlineData(MessageType.Copy, 0x04, true, false)]  // tree flag without relay flag: still a plain copy
    public void Tree_flag_round_trips(MessageType type, byte flags, bool tree, bool minimumUnit)
    {
        var b = Samples.WithByte(Samples.DataPacketBytes(type, 1, 10), DataPacket.FlagsOffset, flags);
        var p = new DataPacket();
        p.Parse(b, 0, b.Length);
        Assert.Equal(flags, p.Flags);
        Assert.Equal(tree, p.IsTree);
        Assert.Equal(minimumUnit, p.IsMinimumUnit);
    }

    [Fact]
    public void Instance_is_reusable_and_shrinks_target_count()
    {
        var p = new DataPacket();
        var a = Samples.DataPacketBytes(MessageType.Copy, 8, 10);
        var b = Samples.DataPacketBytes(MessageType.Original, 0, 10);
        p.Parse(a, 0, a.Length);
        Assert.Equal(8, p.TargetCount);
        p.Parse(b, 0, b.Length);
        Assert.Equal(0, p.TargetCount);
        Assert.Equal(MessageType.Original, p.Type);
    }

    [Fact]
    public void Golden_layout()
    {
        var b = Samples.DataPacketBytes(MessageType.Copy, 1, 2);
        Assert.Equal(22 + 10 + 2, b.Length);
        Assert.Equal(new byte[] { 0x49, 0x4F, 1, 3 }, b[0..4]);
        Assert.Equal(new byte[] { 77, 0, 0, 0 }, b[4..8]);        // image id
        Assert.Equal(new byte[] { 5, 0, 0, 0 }, b[8..12]);        // index
        Assert.Equal(DataPacket.FlagRelay, b[12]);                // flags
        Assert.Equal(new byte[] { 9, 0, 0, 0 }, b[13..17]);       // sender
        Assert.Equal(1, b[17]);                                   // target count
        Assert.Equal(new byte[] { 100, 0, 0, 0 }, b[18..22]);     // target node
        Assert.Equal(new byte[] { 1, 0, 0, 0x0A }, b[22..26]);    // target ip 10.0.0.1 as LE uint 0x0A000001
        Assert.Equal(new byte[] { 0x40, 0x9C }, b[26..28]);       // port 40000
        Assert.Equal(new byte[] { 2, 0, 0, 0 }, b[28..32]);       // payload length
    }

    [Theory]
    [InlineData((uint)Manifest.MaxChunkCount)]
    [InlineData(uint.MaxValue)]
    public void Index_out_of_range(uint index)
    {
        Assert.Equal(ProtocolError.FieldOutOfRange, Err(Samples.WithU32(Samples.DataPacketBytes(MessageType.Original, 0, 4), 8, index)));
    }

    [Theory]
    [InlineData(9)]
    [InlineData(255)]
    public void Target_count_out_of_range(byte count)
    {
        Assert.Equal(ProtocolError.FieldOutOfRange, Err(Samples.WithByte(Samples.DataPacketBytes(MessageType.Copy, 8, 4), 17, count)));
    }

    [Theory]
    [InlineData((uint)Manifest.MaxChunkSize + 1)]
    [InlineData(uint.MaxValue)]
    public void Payload_length_out_of_range(uint len)
    {
        Assert.Equal(ProtocolError.FieldOutOfRange, Err(Samples.WithU32(Samples.DataPacketBytes(MessageType.Copy, 0, 4), 18, len)));
    }

    [Fact]
    public void Payload_length_mismatch()
    {
        var b = Samples.DataPacketBytes(MessageType.Copy, 0, 4);
        Assert.Equal(ProtocolError.Truncated, Err(Samples.WithU32(b, 18, 5)));
        Assert.Equal(ProtocolError.TrailingBytes, Err(Samples.WithU32(b, 18, 3)));
        Assert.Equal(ProtocolError.TrailingBytes, Err(Samples.WithU32(b, 18, 0)));
    }

    [Fact]
    public void Target_count_larger_than_present_is_truncated()
    {
        // Claims 3 targets but only one is there: the reader runs out of bytes.
        var b = Samples.WithByte(Samples.DataPacketBytes(MessageType.Copy, 1, 0), 17, 3);
        Assert.Equal(ProtocolError.Truncated, Err(b));
    }

    [Fact]
    public void Writer_validates()
    {
        var w = new WireWriter(new byte[1000]);
        var n = new uint[8];
        var p = new int[8];
        Assert.Equal(ProtocolError.FieldOutOfRange, Assert.Throws<ProtocolException>(() =>
            DataPacket.WriteHeader(w, MessageType.Manifest, 1, 0, 0, 0, 0, n, n, p, 0)).Error);
        Assert.Equal(ProtocolError.FieldOutOfRange, Assert.Throws<ProtocolException>(() =>
            DataPacket.WriteHeader(w, MessageType.Copy, 1, 0, 0, 0, 9, n, n, p, 0)).Error);
        Assert.Equal(ProtocolError.FieldOutOfRange, Assert.Throws<ProtocolException>(() =>
            DataPacket.WriteHeader(w, MessageType.Copy, 1, 0, 0, 0, -1, n, n, p, 0)).Error);
        Assert.Equal(ProtocolError.FieldOutOfRange, Assert.Throws<ProtocolException>(() =>
            DataPacket.WriteHeader(w, MessageType.Copy, 1, 0, 0, 0, 0, n, n, p, Manifest.MaxChunkSize + 1)).Error);
        Assert.Equal(ProtocolError.BufferTooSmall, Assert.Throws<ProtocolException>(() =>
            DataPacket.WriteHeader(new WireWriter(new byte[30]), MessageType.Copy, 1, 0, 0, 0, 0, n, n, p, 10)).Error);
    }

    [Fact]
    public void WriteHeader_returns_the_payload_position()
    {
        var buf = new byte[DataPacket.EncodedLength(2, 8)];
        var n = new uint[8];
        var p = new int[8];
        int at = DataPacket.WriteHeader(new WireWriter(buf), MessageType.Original, 1, 2, 0, 0, 2, n, n, p, 8);
        Assert.Equal(DataPacket.FixedLength + 2 * DataPacket.TargetLength, at);
        for (int i = 0; i < 8; i++) buf[at + i] = (byte)i;
        var d = new DataPacket();
        d.Parse(buf, 0, buf.Length);
        Assert.Equal(at, d.PayloadOffset);
        Assert.Equal(8, d.PayloadLength);
    }
}
