using IotOta.Shared.Protocol;

namespace IotOta.Shared.Tests.Protocol;

public class WireHeaderTests
{
    [Fact]
    public void Header_bytes()
    {
        var b = new byte[4];
        WireHeader.Write(new WireWriter(b), MessageType.Presence);
        Assert.Equal(new byte[] { 0x49, 0x4F, 0x01, 0x08 }, b);
    }

    [Fact]
    public void Peek_reads_the_type_of_a_good_header()
    {
        var b = Samples.PresenceBytes();
        Assert.Equal(MessageType.Presence, WireHeader.Peek(b, 0, b.Length));
    }

    [Fact]
    public void Peek_never_throws()
    {
        var b = Samples.PresenceBytes();
        Assert.Equal((MessageType)0, WireHeader.Peek(null!, 0, 4));
        Assert.Equal((MessageType)0, WireHeader.Peek(b, 0, 3));
        Assert.Equal((MessageType)0, WireHeader.Peek(b, -1, 4));
        Assert.Equal((MessageType)0, WireHeader.Peek(b, b.Length - 3, 4));
        Assert.Equal((MessageType)0, WireHeader.Peek(b, 1, int.MaxValue));
        Assert.Equal((MessageType)0, WireHeader.Peek(b, int.MaxValue, int.MaxValue));
        Assert.Equal((MessageType)0, WireHeader.Peek(Samples.WithByte(b, 0, 0), 0, b.Length));
        Assert.Equal((MessageType)0, WireHeader.Peek(Samples.WithByte(b, 2, 2), 0, b.Length));
    }

    [Fact]
    public void Writer_refuses_a_full_buffer()
    {
        var w = new WireWriter(new byte[3]);
        var ex = Assert.Throws<ProtocolException>(() => WireHeader.Write(w, MessageType.Manifest));
        Assert.Equal(ProtocolError.BufferTooSmall, ex.Error);
    }

    [Fact]
    public void Reader_and_writer_are_little_endian()
    {
        var b = new byte[14];
        var w = new WireWriter(b);
        w.WriteUInt16(0x1234);
        w.WriteUInt32(0xA1B2C3D4);
        w.WriteInt64(-2);
        Assert.Equal(new byte[] { 0x34, 0x12, 0xD4, 0xC3, 0xB2, 0xA1, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF }, b);
        var r = new WireReader(b, 0, b.Length);
        Assert.Equal(0x1234, r.ReadUInt16());
        Assert.Equal(0xA1B2C3D4u, r.ReadUInt32());
        Assert.Equal(-2L, r.ReadInt64());
        r.ExpectEnd("test");
    }

    [Fact]
    public void Reader_skip_with_negative_count_is_truncated()
    {
        var r = new WireReader(new byte[8], 0, 8);
        Assert.Equal(ProtocolError.Truncated, Assert.Throws<ProtocolException>(() => r.Skip(-1, "x")).Error);
    }
}
