namespace IotOta.Shared.Protocol
{
    /// <summary>How the manifest's per-chunk hashes are computed.</summary>
    public enum ChunkHashKind : byte
    {
        /// <summary>SHA-256 of the chunk's bytes.</summary>
        Sha256 = 0,
        /// <summary>HMAC-SHA256 of the chunk under the fixed, public key in ChunkHashKey (native on nanoFramework boards).</summary>
        HmacSha256PublicKey = 1,
    }
}
