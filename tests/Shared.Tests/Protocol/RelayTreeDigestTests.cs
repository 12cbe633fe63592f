using System.Security.Cryptography;
using IotOta.Shared.Protocol;

namespace IotOta.Shared.Tests.Protocol;

public class RelayTreeDigestTests
{
    private static ProtocolError Err(byte[] b) => Samples.ErrorOf((x, o, c) => new RelayTreeDigest().Parse(x, o, c), b);

    [Fact]
    public void Golden_layout_and_round_trip()
    {
        var b = Samples.RelayTreeDigestBytes();
        Assert.Equal(32, b.Length);
        Assert.Equal(new byte[]
        {
            0x49, 0x4F, 2, 14, 77, 0, 0, 0, 5, 0, 9, 0, 0, 0, 120, 0,
            0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8, 0xA9, 0xAA, 0xAB, 0xAC, 0xAD, 0xAE, 0xAF,
        }, b);
        var d = new RelayTreeDigest();
        d.Parse(b, 0, b.Length);
        Assert.Equal((77u, 5, 9u, 120), (d.ImageId, d.GroupId, d.Epoch, d.TableLength));
        Assert.Equal(b.AsSpan(16).ToArray(), d.Digest);
    }

    [Fact]
    public void Table_length_out_of_range_is_refused_and_leaves_the_instance_as_it_was()
    {
        var b = Samples.RelayTreeDigestBytes();
        Assert.Equal(ProtocolError.FieldOutOfRange, Err(Samples.WithU16(b, 14, RelayTree.FixedLength - 1)));
        Assert.Equal(ProtocolError.FieldOutOfRange, Err(Samples.WithU16(b, 14, RelayTree.MaxEncodedLength + 1)));
        var d = new RelayTreeDigest();
        d.Parse(b, 0, b.Length);
        Assert.Throws<ProtocolException>(() => d.Parse(Samples.WithU16(b, 14, 0), 0, b.Length));
        Assert.Equal(120, d.TableLength);
        Assert.Equal(ProtocolError.Truncated, Err(b[..^1]));
        Assert.Equal(ProtocolError.TrailingBytes, Err([.. b, 0]));
    }

    [Fact]
    public void A_version_1_header_is_a_version_error()
    {
        var b = Samples.RelayTreeDigestBytes();
        b[2] = 1;
        Assert.Equal(ProtocolError.UnsupportedVersion, Err(b));
    }

    [Fact]
    public void Matches_the_first_16_bytes_of_the_table_s_sha256_only()
    {
        var table = Samples.RelayTreeBytes(2, 3);
        byte[] sha = SHA256.HashData(table);
        var d = new RelayTreeDigest { TableLength = table.Length };
        Array.Copy(sha, d.Digest, RelayTreeDigest.DigestLength);
        Assert.True(d.Matches(sha, 0));
        sha[15] ^= 1;
        Assert.False(d.Matches(sha, 0));
        sha[15] ^= 1;
        sha[16] ^= 1; // past the digest: not compared
        Assert.True(d.Matches(sha, 0));
    }
}
