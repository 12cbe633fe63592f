using System.Net;
using IotOta.VirtualDevice.Network;

namespace IotOta.VirtualDevice.Tests.Network;

public sealed class IpCodecTests
{
    [Fact]
    public void Loopback_is_0x0100007F()
    {
        Assert.Equal(0x0100007Fu, IpCodec.ToUInt(IPAddress.Loopback));
        Assert.Equal(0x0100007Fu, IpCodec.Loopback);
        Assert.Equal(IPAddress.Loopback, IpCodec.ToAddress(0x0100007F));
    }

    [Theory]
    [InlineData("10.1.2.3", 0x0302010Au)]
    [InlineData("192.168.0.255", 0xFF00A8C0u)]
    [InlineData("0.0.0.0", 0u)]
    public void Round_trips(string text, uint encoded)
    {
        IPAddress a = IPAddress.Parse(text);
        Assert.Equal(encoded, IpCodec.ToUInt(a));
        Assert.Equal(a, IpCodec.ToAddress(encoded));
    }

    [Fact]
    public void Maps_ipv4_in_ipv6_and_rejects_ipv6()
    {
        Assert.Equal(0x0100007Fu, IpCodec.ToUInt(IPAddress.Loopback.MapToIPv6()));
        Assert.Throws<ArgumentException>(() => IpCodec.ToUInt(IPAddress.IPv6Loopback));
    }
}
