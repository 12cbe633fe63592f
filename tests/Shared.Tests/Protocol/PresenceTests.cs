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

public class PresencePeerBudgetTests
{
    private static Presence WithBudget(int members = 64, int peers = 6) => new()
    {
        NodeId = 12, GroupId = 3, Online = true, Ip = 0x0100007F, Port = 45000, RunningVersion = new FirmwareVersion(2, 5, 9),
        State = DeviceState.Idle, HasCapabilities = true, SlotSize = 786432, MaxChunkSize = 2048, SequentialSink = true, StagingCapacity = 64,
        HasPeerBudget = true, MaxMembers = members, MaxPeerConnections = peers,
    };

    private static ProtocolError Err(byte[] b) => Samples.ErrorOf((x, o, c) => new Presence().Parse(x, o, c), b);

    [Fact]
    public void The_peer_budget_round_trips_in_3_bytes_after_the_capabilities()
    {
        byte[] b = WithBudget(1000, 6).ToBytes();
        Assert.Equal(38, b.Length);
        Assert.Equal(Presence.MaxEncodedLength, b.Length);
        Assert.Equal(new byte[] { 0xE8, 0x03 }, b[35..37]); // 1000
        Assert.Equal(6, b[37]);
        var d = new Presence();
        d.Parse(b, 0, b.Length);
        Assert.True(d.HasCapabilities);
        Assert.Equal(786432, d.SlotSize);
        Assert.True(d.HasPeerBudget);
        Assert.Equal(1000, d.MaxMembers);
        Assert.Equal(6, d.MaxPeerConnections);
    }

    [Fact]
    public void No_limit_is_0_peer_connections()
    {
        byte[] b = WithBudget(65535, 0).ToBytes();
        var d = new Presence();
        d.Parse(b, 0, b.Length);
        Assert.Equal(65535, d.MaxMembers);
        Assert.Equal(0, d.MaxPeerConnections);
    }

    [Fact]
    public void A_presence_with_capabilities_only_clears_an_earlier_budget()
    {
        var d = new Presence();
        byte[] b = WithBudget().ToBytes();
        d.Parse(b, 0, b.Length);
        var caps = WithBudget();
        caps.HasPeerBudget = false;
        byte[] c = caps.ToBytes();
        Assert.Equal(35, c.Length);
        d.Parse(c, 0, c.Length);
        Assert.True(d.HasCapabilities);
        Assert.False(d.HasPeerBudget);
        Assert.Equal(0, d.MaxMembers);
    }

    [Theory]
    [InlineData(12)]
    [InlineData(13)]
    [InlineData(15)]
    public void A_partial_or_long_budget_tail_is_refused(int extra)
    {
        byte[] full = WithBudget().ToBytes();
        var b = new byte[Presence.EncodedLength + extra];
        Array.Copy(full, b, Math.Min(full.Length, b.Length));
        Assert.Equal(ProtocolError.TrailingBytes, Err(b));
    }

    [Fact]
    public void Max_members_0_is_out_of_range()
    {
        byte[] b = WithBudget().ToBytes();
        b[35] = 0;
        b[36] = 0;
        Assert.Equal(ProtocolError.FieldOutOfRange, Err(b));
    }

    [Theory]
    [InlineData(0, 6, true)]
    [InlineData(65536, 6, true)]
    [InlineData(64, -1, true)]
    [InlineData(64, 256, true)]
    [InlineData(64, 6, false)]
    public void Encode_refuses_a_budget_out_of_range_or_without_capabilities(int members, int peers, bool caps)
    {
        var p = WithBudget(members, peers);
        p.HasCapabilities = caps;
        Assert.Throws<ProtocolException>(() => p.ToBytes());
    }
}
