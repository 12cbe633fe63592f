using IotOta.VirtualDevice.Network;

namespace IotOta.VirtualDevice.Tests.Network;

public sealed class ConnAckKeepAliveTests
{
    [Fact]
    public void The_server_keep_alive_is_found_behind_other_properties()
    {
        // MQTT 5 CONNACK: flags, reason, properties: receive maximum 10, assigned client id "abc", user property
        // ("k", "v"), server keep alive 60.
        byte[] props = [0x21, 0x00, 0x0A, 0x12, 0x00, 0x03, (byte)'a', (byte)'b', (byte)'c', 0x26, 0x00, 0x01, (byte)'k', 0x00, 0x01, (byte)'v', 0x13, 0x00, 0x3C];
        byte[] packet = [0x20, (byte)(3 + props.Length), 0x00, 0x00, (byte)props.Length, .. props];
        Assert.Equal(60, ConnAckKeepAlive.ServerKeepAlive(packet));
    }

    [Fact]
    public void No_server_keep_alive_reads_as_zero()
    {
        Assert.Equal(0, ConnAckKeepAlive.ServerKeepAlive([0x20, 0x02, 0x00, 0x00])); // MQTT 3.1.1
        Assert.Equal(0, ConnAckKeepAlive.ServerKeepAlive([0x20, 0x06, 0x00, 0x00, 0x03, 0x21, 0x00, 0x0A])); // v5, other property
        Assert.Equal(0, ConnAckKeepAlive.ServerKeepAlive([0x20, 0x06, 0x00, 0x00, 0x03, 0x13, 0x00])); // cut short
        Assert.Equal(0, ConnAckKeepAlive.ServerKeepAlive([0x30, 0x06, 0x00, 0x00, 0x03, 0x13, 0x00, 0x3C])); // a PUBLISH
        Assert.Equal(0, ConnAckKeepAlive.ServerKeepAlive([]));
    }
}
