using IotOta.Shared.Protocol;

namespace IotOta.Shared.Tests.Protocol;

/// <summary>The text form of a protocol message (a board's MQTT will): golden bytes, round trip, UTF-8 safety, bad input.</summary>
public sealed class ArmoredMessageTests
{
    // Offline presence of node 2001 in group 2 at 192.168.1.20:7001 running 0.0.0 (bytes >= 0x80 in the address).
    private const string GoldenText = "IOX:494f0108d1070000020000c0a80114591b00000000000000";

    private static Presence Offline() => new()
    {
        NodeId = 2001, GroupId = 2, Online = false, Ip = 0x1401A8C0, Port = 7001, RunningVersion = FirmwareVersion.Zero,
    };

    [Fact]
    public void Presence_encodes_to_the_golden_text()
    {
        byte[] b = Offline().ToBytes();
        Assert.Equal(GoldenText, ArmoredMessage.ToText(b, 0, b.Length));
    }

    [Fact]
    public void Golden_text_survives_utf8_and_decodes_to_the_presence()
    {
        // what nanoFramework.M2Mqtt does with the will string (MqttMsgConnect.cs: Encoding.UTF8.GetBytes)
        byte[] wire = System.Text.Encoding.UTF8.GetBytes(GoldenText);
        Assert.True(ArmoredMessage.IsArmored(wire, 0, wire.Length));
        var plain = new byte[ArmoredMessage.DecodedLength(wire.Length)];
        int n = ArmoredMessage.Decode(wire, 0, wire.Length, plain, 0);
        Assert.Equal(Offline().ToBytes(), plain[..n]);
        var p = new Presence();
        p.Parse(plain, 0, n);
        Assert.Equal(2001u, p.NodeId);
        Assert.Equal(0x1401A8C0u, p.Ip);
        Assert.False(p.Online);
    }

    [Fact]
    public void Binary_presence_as_a_latin1_string_is_corrupted_by_utf8()
    {
        // the bug this form fixes: the old board port passed each byte as one char
        byte[] b = Offline().ToBytes();
        string latin = new(b.Select(x => (char)x).ToArray());
        byte[] wire = System.Text.Encoding.UTF8.GetBytes(latin);
        Assert.NotEqual(b.Length, wire.Length);
    }

    [Fact]
    public void Binary_messages_are_not_armored()
    {
        byte[] b = Offline().ToBytes();
        Assert.False(ArmoredMessage.IsArmored(b, 0, b.Length));
        Assert.Equal(MessageType.Presence, WireHeader.Peek(b, 0, b.Length));
        byte[] text = System.Text.Encoding.ASCII.GetBytes(GoldenText);
        Assert.Equal((MessageType)0, WireHeader.Peek(text, 0, text.Length));
    }

    [Theory]
    [InlineData("IOX:494", ProtocolError.Truncated)]
    [InlineData("IOX:49zz", ProtocolError.BadMagic)]
    [InlineData("IOY:4949", ProtocolError.BadMagic)]
    public void Malformed_text_is_refused_with_a_reason(string text, ProtocolError error)
    {
        byte[] wire = System.Text.Encoding.ASCII.GetBytes(text);
        var e = Assert.Throws<ProtocolException>(() => ArmoredMessage.Decode(wire, 0, wire.Length, new byte[64], 0));
        Assert.Equal(error, e.Error);
    }
}
