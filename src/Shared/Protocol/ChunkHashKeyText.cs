namespace IotOta.Shared.Protocol
{
    /// <summary>The fixed, public HMAC key of <see cref="ChunkHashKind.HmacSha256PublicKey"/> as text: its 32 ASCII
    /// bytes are the key (docs/protocol.md). It is not a secret; it only lets boards use their HMAC engine as a hash.</summary>
    public static class ChunkHashKeyText
    {
        public const string Value = "IotOta public chunk-hash key v1!";
    }
}
