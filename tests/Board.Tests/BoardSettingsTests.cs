using IotOta.Board.Network;
using IotOta.Shared.Protocol;
using IotOta.TestSupport;

namespace IotOta.Board.Tests;

public sealed class BoardSettingsTests : IDisposable
{
    private readonly TempDir _dir = new("iotota-settings-");
    private string Root => _dir.Path + "/";

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Missing_file_keeps_the_defaults()
    {
        var s = BoardSettings.Load(Root);
        Assert.Equal(1883, s.BrokerPort);
        Assert.Equal(80 * 1024, s.SlotBytes);
        Assert.Equal(6, s.MaxPeerConnections);
    }

    [Fact]
    public void File_overrides_keys_and_reads_addresses_and_keys()
    {
        File.WriteAllText(_dir.File("iotota.cfg"), "# provisioning\nmqtt.host = 10.0.0.5\r\nnode.id=2001\ngroup.id=2\npeer.ip=192.168.1.20\nkey.hex=04A0ff\nstore.slot=40960\n");
        var s = BoardSettings.Load(Root);
        Assert.Equal("10.0.0.5", s.BrokerHost);
        Assert.Equal(2001u, s.NodeId);
        Assert.Equal(2, s.GroupId);
        Assert.Equal(0x1401A8C0u, s.PeerIp);
        Assert.Equal(new byte[] { 0x04, 0xA0, 0xFF }, s.TrustedKey);
        Assert.Equal(40960, s.SlotBytes);
        Assert.EndsWith("iotota/", s.StoreDirectory);
    }

    [Theory]
    [InlineData("colour=blue", "line 1 (colour): unknown key 'colour'")]
    [InlineData("node.id=x", "line 1 (node.id)")]
    [InlineData("\npeer.ip=300.1.1.1", "line 2 (peer.ip)")]
    [InlineData("novalue", "line 1: expected key=value")]
    [InlineData("peer.connections=1", "line 1 (peer.connections): must be 2..255 (peer connections in and out together)")]
    [InlineData("members.max=2000", "line 1 (members.max): must be 1..1024 (what a member list can name)")]
    public void Bad_lines_are_refused_naming_the_line(string text, string expected)
    {
        File.WriteAllText(_dir.File("iotota.cfg"), text);
        Assert.Contains(expected, Assert.Throws<ArgumentException>(() => BoardSettings.Load(Root)).Message);
    }

    [Fact]
    public void The_will_is_ascii_text_that_decodes_to_the_offline_presence()
    {
        string will = M2MqttPort.WillText(2001, 2, 0x1401A8C0, 7001, new FirmwareVersion(2, 0, 0));
        Assert.All(will, c => Assert.InRange(c, (char)0x20, (char)0x7E));
        byte[] wire = System.Text.Encoding.UTF8.GetBytes(will);
        var plain = new byte[ArmoredMessage.DecodedLength(wire.Length)];
        int n = ArmoredMessage.Decode(wire, 0, wire.Length, plain, 0);
        var p = new Presence();
        p.Parse(plain, 0, n);
        Assert.Equal((2001u, 2, false, 0x1401A8C0u, 7001), (p.NodeId, p.GroupId, p.Online, p.Ip, p.Port));
        Assert.True(p.RunningVersion.SameAs(new FirmwareVersion(2, 0, 0)));
    }
}
