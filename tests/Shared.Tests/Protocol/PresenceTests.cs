using IotOta.Shared.Protocol;

namespace IotOta.Shared.Tests.Protocol;

public class PresenceTests
{
    private static ProtocolError Err(byte[] b) => Samples.ErrorOf((x, o, c) => new Presence().Parse(x, o, c), b);

    public static IEnumerable<object[]> States()
    {
        foreach (DeviceState s in Enum.GetValues<DeviceState>())
        {
            yield return new object[] { s, true };
            yield return new object[] { s, false };
        }
    }

    [Theory, MemberData(nameof(States))]
    public void Round_trip(DeviceState state, bool online)
    {
        var p = new Presence { NodeId = uint.MaxValue, GroupId = 65535, Online = online, Ip = 0x0100007F, Port = 65535, RunningVersion = new FirmwareVersion(3, 4, 5), State = state };
        var b = new byte[Presence.EncodedLength];
        Assert.Equal(Presence.EncodedLength, p.Encode(b, 0));
        var d = new Presence();
        d.Parse(b, 0, b.Length);
        Assert.Equal(uint.MaxValue, d.NodeId);
        Assert.Equal(65535, d.GroupId);
        Assert.Equal(online, d.Online);
        Assert.Equal(0x0100007Fu, d.Ip);
        Assert.Equal(65535, d.Port);
        Assert.Equal("3.4.5", d.RunningVersion.ToString());
        Assert.Equal(state, d.State);
    }

    [Fact]
    public void Missing_version_encodes_as_zero()
    {
        var b = new Presence { NodeId = 1 }.ToBytes();
        var d = new Presence();
        d.Parse(b, 0, b.Length);
        Assert.True(d.RunningVersion.SameAs(FirmwareVersion.Zero));
        Assert.Equal(DeviceState.Idle, d.State);
    }

    [Fact]
    public void Golden_layout()
    {
        var b = Samples.PresenceBytes();
        Assert.Equal(24, b.Length);
        Assert.Equal(new byte[] { 0x49, 0x4F, 1, 8 }, b[0..4]);
        Assert.Equal(new byte[] { 12, 0, 0, 0 }, b[4..8]);
        Assert.Equal(new byte[] { 3, 0 }, b[8..10]);
        Assert.Equal(1, b[10]);
        Assert.Equal(new byte[] { 127, 0, 0, 1 }, b[11..15]);      // 127.0.0.1: the uint is the address bytes in network order
        Assert.Equal(new byte[] { 0xC8, 0xAF }, b[15..17]);        // 45000
        Assert.Equal(new byte[] { 2, 0, 5, 0, 9, 0 }, b[17..23]);
        Assert.Equal((byte)DeviceState.PendingConfirm, b[23]);
    }

    [Fact]
    public void Node_id_zero_is_out_of_range()
    {
        Assert.Equal(ProtocolError.FieldOutOfRange, Err(Samples.WithU32(Samples.PresenceBytes(), 4, 0)));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(255)]
    public void Online_flag_out_of_range(byte v)
    {
        Assert.Equal(ProtocolError.FieldOutOfRange, Err(Samples.WithByte(Samples.PresenceBytes(), 10, v)));
    }

    [Theory]
    [InlineData(8)]
    [InlineData(255)]
    public void State_out_of_range(byte v)
    {
        Assert.Equal(ProtocolError.FieldOutOfRange, Err(Samples.WithByte(Samples.PresenceBytes(), 23, v)));
    }
}

public class PresenceCapabilitiesTests
{
    private static Presence WithCaps() => new()
    {
        NodeId = 12, GroupId = 3, Online = true, Ip = 0x0100007F, Port = 45000, RunningVersion = new FirmwareVersion(2, 5, 9),
        State = DeviceState.Receiving, HasCapabilities = true, SlotSize = 786432, MaxChunkSize = 2048, SequentialSink = true, StagingCapacity = 64,
    };

    [Fact]
    public void Capabilities_round_trip_in_an_11_byte_tail()
    {
        byte[] b = WithCaps().ToBytes();
        Assert.Equal(Presence.EncodedLength + 11, b.Length);
        Assert.Equal(new byte[] { 0x00, 0x00, 0x0C, 0x00 }, b[24..28]);    // 786432 = 0x000C0000
        Assert.Equal(new byte[] { 0x00, 0x08, 0x00, 0x00 }, b[28..32]);    // 2048
        Assert.Equal(1, b[32]);                                            // sequential
        Assert.Equal(new byte[] { 64, 0 }, b[33..35]);
        var d = new Presence();
        d.Parse(b, 0, b.Length);
        Assert.True(d.HasCapabilities);
        Assert.Equal(786432, d.SlotSize);
        Assert.Equal(2048, d.MaxChunkSize);
        Assert.True(d.SequentialSink);
        Assert.Equal(64, d.StagingCapacity);
        Assert.Equal(DeviceState.Receiving, d.State);
    }

    [Fact]
    public void A_24_byte_presence_still_parses_and_clears_earlier_capabilities()
    {
        var d = new Presence();
        byte[] caps = WithCaps().ToBytes();
        d.Parse(caps, 0, caps.Length);
        byte[] old = Samples.PresenceBytes();
        d.Parse(old, 0, old.Length);
        Assert.False(d.HasCapabilities);
        Assert.Equal(0, d.SlotSize);
        Assert.Equal(0, d.StagingCapacity);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(10)]
    [InlineData(12)]
    public void A_partial_or_long_tail_is_refused(int extra)
    {
        byte[] caps = WithCaps().ToBytes();
        var b = new byte[Presence.EncodedLength + extra];
        Array.Copy(caps, b, Math.Min(caps.Length, b.Length));
        Assert.Equal(ProtocolError.TrailingBytes, Samples.ErrorOf((x, o, c) => new Presence().Parse(x, o, c), b));
    }

    [Theory]
    [InlineData(24, 0u)]      // slot size 0
    [InlineData(28, 0u)]      // max chunk 0
    [InlineData(24, 0x80000000u)]
    public void Zero_or_huge_sizes_are_out_of_range(int at, uint v)
    {
        Assert.Equal(ProtocolError.FieldOutOfRange, Samples.ErrorOf((x, o, c) => new Presence().Parse(x, o, c), Samples.WithU32(WithCaps().ToBytes(), at, v)));
    }

    [Fact]
    public void Sink_mode_other_than_0_or_1_is_out_of_range()
    {
        Assert.Equal(ProtocolError.FieldOutOfRange, Samples.ErrorOf((x, o, c) => new Presence().Parse(x, o, c), Samples.WithByte(WithCaps().ToBytes(), 32, 2)));
    }

    [Fact]
    public void Encode_refuses_capabilities_out_of_range()
    {
        var p = WithCaps();
        p.SlotSize = 0;
        Assert.Throws<ProtocolException>(() => p.ToBytes());
    }
}
