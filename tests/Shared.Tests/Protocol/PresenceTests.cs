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
