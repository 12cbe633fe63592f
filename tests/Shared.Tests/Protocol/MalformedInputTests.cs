using IotOta.Shared.Protocol;

namespace IotOta.Shared.Tests.Protocol;

/// <summary>The malformed-input classes that apply to every decoder alike; each must end in the right ProtocolError.</summary>
public class MalformedInputTests
{
    public static IEnumerable<object[]> Names() => Samples.DecoderNames();

    [Theory, MemberData(nameof(Names))]
    public void Sample_is_valid(string name)
    {
        var b = Samples.Valid(name);
        Samples.DecoderFor(name)(b, 0, b.Length);
    }

    [Theory, MemberData(nameof(Names))]
    public void Empty_is_truncated(string name)
    {
        var d = Samples.DecoderFor(name);
        Assert.Equal(ProtocolError.Truncated, Samples.ErrorOf(d, Array.Empty<byte>()));
        Assert.Equal(ProtocolError.Truncated, Samples.ErrorOf(d, new byte[10], 3, 0));
    }

    [Theory, MemberData(nameof(Names))]
    public void Null_buffer_is_truncated(string name)
    {
        Assert.Equal(ProtocolError.Truncated, Samples.ErrorOf(Samples.DecoderFor(name), null, 0, 0));
    }

    [Theory, MemberData(nameof(Names))]
    public void Truncated_at_every_length(string name)
    {
        var d = Samples.DecoderFor(name);
        var b = Samples.Valid(name);
        for (int len = 0; len < b.Length; len++)
        {
            // Same buffer, shorter count: the bytes after count must not be read.
            Assert.Equal(ProtocolError.Truncated, Samples.ErrorOf(d, b, 0, len));
            // Exact-size copy too.
            Assert.Equal(ProtocolError.Truncated, Samples.ErrorOf(d, b.AsSpan(0, len).ToArray()));
        }
    }

    [Theory, MemberData(nameof(Names))]
    public void Trailing_bytes(string name)
    {
        var d = Samples.DecoderFor(name);
        var b = Samples.Valid(name);
        Assert.Equal(ProtocolError.TrailingBytes, Samples.ErrorOf(d, Samples.Concat(b, 0)));
        Assert.Equal(ProtocolError.TrailingBytes, Samples.ErrorOf(d, Samples.Concat(b, 1, 2, 3, 4, 5, 6, 7, 8, 9)));
    }

    [Theory, MemberData(nameof(Names))]
    public void Bad_magic(string name)
    {
        var d = Samples.DecoderFor(name);
        var b = Samples.Valid(name);
        Assert.Equal(ProtocolError.BadMagic, Samples.ErrorOf(d, Samples.WithByte(b, 0, (byte)'X')));
        Assert.Equal(ProtocolError.BadMagic, Samples.ErrorOf(d, Samples.WithByte(b, 1, (byte)'o')));
        Assert.Equal(ProtocolError.BadMagic, Samples.ErrorOf(d, Samples.WithByte(Samples.WithByte(b, 0, 0x4F), 1, 0x49)));
    }

    [Theory, MemberData(nameof(Names))]
    public void Wrong_version(string name)
    {
        var d = Samples.DecoderFor(name);
        var b = Samples.Valid(name);
        foreach (byte v in new byte[] { 0, 1, 2, 3, 0x7F, 0xFF })
        {
            if (v == b[2]) continue; // the layout version this message carries
            Assert.Equal(ProtocolError.UnsupportedVersion, Samples.ErrorOf(d, Samples.WithByte(b, 2, v)));
        }
    }

    [Theory, MemberData(nameof(Names))]
    public void Wrong_type(string name)
    {
        var d = Samples.DecoderFor(name);
        var b = Samples.Valid(name);
        var accepted = Samples.AcceptedTypes(name);
        for (int t = 0; t <= 255; t++)
        {
            if (Array.IndexOf(accepted, (MessageType)t) >= 0) continue;
            Assert.Equal(ProtocolError.UnexpectedType, Samples.ErrorOf(d, Samples.WithByte(b, 3, (byte)t)));
        }
    }

    [Theory, MemberData(nameof(Names))]
    public void Other_valid_messages_are_unexpected_types(string name)
    {
        var d = Samples.DecoderFor(name);
        foreach (var other in Samples.Decoders)
        {
            var b = Samples.Valid(other.Name);
            // itself, or another layout the same decoder reads (NoticeBatch and CompactNoticeBatch)
            if (other.Name == name || Array.IndexOf(Samples.AcceptedTypes(name), (MessageType)b[3]) >= 0) continue;
            // The one deliberate exception: a v1 Manifest where a v2 root is expected is the old layout, a version error.
            var expected = name == "ImageRoot" && other.Name == "Manifest" ? ProtocolError.UnsupportedVersion : ProtocolError.UnexpectedType;
            Assert.Equal(expected, Samples.ErrorOf(d, b));
        }
    }

    [Theory, MemberData(nameof(Names))]
    public void Offset_and_count_outside_the_buffer(string name)
    {
        var d = Samples.DecoderFor(name);
        var b = Samples.Valid(name);
        Assert.Equal(ProtocolError.LengthMismatch, Samples.ErrorOf(d, b, -1, b.Length));
        Assert.Equal(ProtocolError.LengthMismatch, Samples.ErrorOf(d, b, 0, -1));
        Assert.Equal(ProtocolError.LengthMismatch, Samples.ErrorOf(d, b, 1, b.Length));
        Assert.Equal(ProtocolError.LengthMismatch, Samples.ErrorOf(d, b, b.Length + 1, 0));
        // offset + count overflows int: must still be refused as outside the buffer.
        Assert.Equal(ProtocolError.LengthMismatch, Samples.ErrorOf(d, b, 1, int.MaxValue));
        Assert.Equal(ProtocolError.LengthMismatch, Samples.ErrorOf(d, b, int.MaxValue, int.MaxValue));
    }

    [Theory, MemberData(nameof(Names))]
    public void Decodes_at_an_offset_inside_a_larger_buffer(string name)
    {
        var d = Samples.DecoderFor(name);
        var b = Samples.Valid(name);
        var big = new byte[b.Length + 20];
        Array.Fill(big, (byte)0xEE);
        Buffer.BlockCopy(b, 0, big, 7, b.Length);
        d(big, 7, b.Length);
        Assert.Equal(ProtocolError.Truncated, Samples.ErrorOf(d, big, 7, b.Length - 1));
        Assert.Equal(ProtocolError.TrailingBytes, Samples.ErrorOf(d, big, 7, b.Length + 1));
    }
}
