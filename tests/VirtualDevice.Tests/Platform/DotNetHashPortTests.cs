using System.Security.Cryptography;
using System.Text;
using IotOta.Shared.Protocol;
using IotOta.VirtualDevice.Platform;

namespace IotOta.VirtualDevice.Tests.Platform;

public sealed class DotNetHashPortTests
{
    private static byte[] Data(int n)
    {
        byte[] b = new byte[n];
        new Random(n).NextBytes(b);
        return b;
    }

    [Fact]
    public void Key_is_the_32_ascii_bytes()
    {
        Assert.Equal(32, ChunkHashKey.Bytes.Length);
        Assert.Equal("IotOta public chunk-hash key v1!", Encoding.ASCII.GetString(ChunkHashKey.Bytes));
        Assert.Equal(ChunkHashKey.Bytes.ToArray(), ChunkHashKey.ToArray());
    }

    [Fact]
    public void Sha256_chunk_hash_matches_HashData_and_respects_offsets()
    {
        using var port = new DotNetHashPort();
        byte[] data = Data(5000);
        byte[] output = new byte[40];
        port.ChunkHash(ChunkHashKind.Sha256, data, 100, 4000, output, 5);
        Assert.Equal(SHA256.HashData(data.AsSpan(100, 4000)), output.AsSpan(5, 32).ToArray());
        Assert.Equal(0, output[4]);
        Assert.Equal(0, output[37]);
    }

    [Fact]
    public void Hmac_chunk_hash_uses_the_public_key()
    {
        using var port = new DotNetHashPort();
        byte[] data = Data(1024);
        byte[] output = new byte[32];
        port.ChunkHash(ChunkHashKind.HmacSha256PublicKey, data, 0, data.Length, output, 0);
        Assert.Equal(HMACSHA256.HashData(Encoding.ASCII.GetBytes("IotOta public chunk-hash key v1!"), data), output);
        Assert.NotEqual(SHA256.HashData(data), output);
    }

    [Fact]
    public void Chunk_hash_does_not_allocate()
    {
        using var port = new DotNetHashPort();
        byte[] data = Data(4096);
        byte[] output = new byte[32];
        port.ChunkHash(ChunkHashKind.Sha256, data, 0, data.Length, output, 0);
        port.ChunkHash(ChunkHashKind.HmacSha256PublicKey, data, 0, data.Length, output, 0);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            port.ChunkHash(ChunkHashKind.Sha256, data, 0, data.Length, output, 0);
            port.ChunkHash(ChunkHashKind.HmacSha256PublicKey, data, 0, data.Length, output, 0);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Image_hash_streams_and_can_restart()
    {
        using var port = new DotNetHashPort();
        byte[] data = Data(10_000);
        byte[] output = new byte[32];

        port.ImageHashBegin();
        port.ImageHashAppend(data, 0, 123); // abandoned: Begin must forget it
        port.ImageHashBegin();
        for (int at = 0; at < data.Length; at += 3000)
        {
            port.ImageHashAppend(data, at, Math.Min(3000, data.Length - at));
        }
        port.ImageHashFinish(output, 0);
        Assert.Equal(SHA256.HashData(data), output);

        port.ImageHashBegin();
        port.ImageHashAppend(data, 0, 10);
        port.ImageHashFinish(output, 0);
        Assert.Equal(SHA256.HashData(data.AsSpan(0, 10)), output);
    }
}
