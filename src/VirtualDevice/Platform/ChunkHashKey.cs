using System.Text;

namespace IotOta.VirtualDevice.Platform;

/// <summary>The fixed, public HMAC key for <see cref="IotOta.Shared.Protocol.ChunkHashKind.HmacSha256PublicKey"/>:
/// the 32 ASCII bytes of "IotOta public chunk-hash key v1!". It is not a secret; it only lets boards use their
/// HMAC engine as a hash.</summary>
public static class ChunkHashKey
{
    public const string Text = IotOta.Shared.Protocol.ChunkHashKeyText.Value;

    /// <summary>The key bytes (no allocation).</summary>
    public static ReadOnlySpan<byte> Bytes => "IotOta public chunk-hash key v1!"u8;

    /// <summary>A fresh copy of the key bytes, for code that needs an array.</summary>
    public static byte[] ToArray() => Encoding.ASCII.GetBytes(Text);
}
