using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Flash
{
    /// <summary>
    /// How the update-state partition stores a protocol v2 image (issue #15) in place of a v1 manifest: the signed
    /// <see cref="ImageRoot"/> (160 B, written when the root is accepted), then one proof slot per hash-list piece
    /// (⌈log2 P⌉ × 32 B each), then the chunk-hash list (32 B per chunk, <see cref="HashListStore"/>). Proof slots and
    /// list entries are written once each, as verified pieces arrive; nothing of the list is kept in RAM. Offsets are
    /// from the start of the stored form.
    /// </summary>
    public static class RootForm
    {
        public const int ProofsOffset = ImageRoot.EncodedLength;

        /// <summary>Bytes of one piece's proof slot.</summary>
        public static int ProofStride(int pieceCount)
        {
            return HashListTree.MaxProofFor(pieceCount) * Manifest.HashLength;
        }

        /// <summary>Where the chunk-hash list starts.</summary>
        public static int HashesOffset(int pieceCount)
        {
            return ProofsOffset + pieceCount * ProofStride(pieceCount);
        }

        /// <summary>The whole stored form of an image of chunkCount chunks in pieceCount pieces.</summary>
        public static int Length(int chunkCount, int pieceCount)
        {
            return HashesOffset(pieceCount) + HashListStore.RegionLength(chunkCount);
        }
    }
}
