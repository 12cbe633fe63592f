using FsCheck;
using FsCheck.Xunit;
using IotOta.Shared.Protocol;

namespace IotOta.Shared.Tests.Protocol;

public class FirmwareVersionTests
{
    [Theory]
    [InlineData("0.0.0", 0, 0, 0)]
    [InlineData("1.2.3", 1, 2, 3)]
    [InlineData("65535.65535.65535", 65535, 65535, 65535)]
    [InlineData("01.002.00003", 1, 2, 3)]
    public void Parse_valid(string text, int major, int minor, int patch)
    {
        var v = FirmwareVersion.Parse(text);
        Assert.Equal(major, v.Major);
        Assert.Equal(minor, v.Minor);
        Assert.Equal(patch, v.Patch);
        Assert.Equal(major + "." + minor + "." + patch, v.ToString());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("1")]
    [InlineData("1.2")]
    [InlineData("1.2.3.4")]
    [InlineData("1..3")]
    [InlineData(".1.2")]
    [InlineData("1.2.")]
    [InlineData("a.b.c")]
    [InlineData("1.2.3a")]
    [InlineData("-1.2.3")]
    [InlineData("+1.2.3")]
    [InlineData(" 1.2.3")]
    [InlineData("1.2.3 ")]
    [InlineData("65536.0.0")]
    [InlineData("0.0.99999")]
    [InlineData("123456.0.0")]
    [InlineData("1.2.３")]
    public void Parse_invalid_throws_argument_exception(string? text)
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => FirmwareVersion.Parse(text!));
        Assert.False(string.IsNullOrEmpty(ex.Message));
    }

    [Theory]
    [InlineData(-1, 0, 0)]
    [InlineData(0, 65536, 0)]
    [InlineData(0, 0, -5)]
    public void Constructor_range(int a, int b, int c)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new FirmwareVersion(a, b, c));
    }

    [Theory]
    [InlineData("1.2.3", "1.2.3", 0)]
    [InlineData("1.2.3", "1.2.4", -1)]
    [InlineData("1.3.0", "1.2.9", 1)]
    [InlineData("2.0.0", "1.65535.65535", 1)]
    [InlineData("0.0.0", "0.0.1", -1)]
    [InlineData("10.0.0", "9.0.0", 1)]
    public void Compare(string a, string b, int expected)
    {
        var va = FirmwareVersion.Parse(a);
        var vb = FirmwareVersion.Parse(b);
        Assert.Equal(expected, va.CompareTo(vb));
        Assert.Equal(-expected, vb.CompareTo(va));
        Assert.Equal(expected == 0, va.SameAs(vb));
    }

    [Fact]
    public void SameAs_null_is_false()
    {
        Assert.False(FirmwareVersion.Zero.SameAs(null!));
    }

    [Fact]
    public void Wire_round_trip()
    {
        var b = new byte[6];
        new FirmwareVersion(0x0102, 0xFFFF, 7).Write(new WireWriter(b));
        Assert.Equal(new byte[] { 0x02, 0x01, 0xFF, 0xFF, 7, 0 }, b);
        var v = FirmwareVersion.Read(new WireReader(b, 0, 6));
        Assert.Equal("258.65535.7", v.ToString());
    }

    private static FirmwareVersion V(ushort a, ushort b, ushort c) => new FirmwareVersion(a, b, c);

    [Property]
    public bool Parse_of_ToString_round_trips(ushort a, ushort b, ushort c)
    {
        var v = V(a, b, c);
        return FirmwareVersion.Parse(v.ToString()).SameAs(v);
    }

    [Property]
    public bool Compare_is_lexicographic(ushort a1, ushort b1, ushort c1, ushort a2, ushort b2, ushort c2)
    {
        int expected = ((long)a1 << 32 | (long)b1 << 16 | c1).CompareTo((long)a2 << 32 | (long)b2 << 16 | c2);
        return Math.Sign(V(a1, b1, c1).CompareTo(V(a2, b2, c2))) == Math.Sign(expected);
    }

    [Property]
    public bool Parse_throws_only_argument_exceptions(string? text)
    {
        try
        {
            FirmwareVersion.Parse(text!);
        }
        catch (ArgumentException)
        {
        }
        return true;
    }
}
