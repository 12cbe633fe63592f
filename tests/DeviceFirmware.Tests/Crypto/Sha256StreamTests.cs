using System.Security.Cryptography;
using IotOta.DeviceFirmware.Crypto;

namespace IotOta.DeviceFirmware.Tests.Crypto;

public class Sha256StreamTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(55)]
    [InlineData(56)]
    [InlineData(64)]
    [InlineData(119)]
    [InlineData(4096 * 3 + 17)]
    public void Matches_the_platform_sha256_in_any_split(int length)
    {
        byte[] data = new byte[length];
        new Random(length).NextBytes(data);
        var s = new Sha256Stream();
        int at = 0, step = 1;
        while (at < length)
        {
            int n = Math.Min(step, length - at);
            s.Append(data, at, n);
            at += n;
            step = step * 3 + 1;
        }
        byte[] got = new byte[34];
        s.Finish(got, 2);
        Assert.Equal(SHA256.HashData(data), got.AsSpan(2, 32).ToArray());
        // Finish starts over
        s.Append(data, 0, length);
        byte[] again = new byte[32];
        s.Finish(again, 0);
        Assert.Equal(SHA256.HashData(data), again);
    }

    [Fact]
    public void Known_answer_abc()
    {
        var s = new Sha256Stream();
        s.Append("abc"u8.ToArray(), 0, 3);
        byte[] d = new byte[32];
        s.Finish(d, 0);
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", Convert.ToHexStringLower(d));
    }
}
