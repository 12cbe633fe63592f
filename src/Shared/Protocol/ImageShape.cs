namespace IotOta.Shared.Protocol
{
    /// <summary>
    /// What the v1 <see cref="Manifest"/> and the v2 <see cref="ImageRoot"/> say alike about an image: its identity and
    /// sizes (written right after the header in both layouts), the checks on those sizes, and the length of a chunk.
    /// One piece of code for both, so the two messages can never disagree on what a valid image shape is.
    /// </summary>
    public static class ImageShape
    {
        /// <summary>Writes image id, version, flags, hash kind, image size, chunk size and chunk count (24 bytes).</summary>
        public static void Write(WireWriter w, uint imageId, FirmwareVersion version, byte flags, ChunkHashKind hashKind,
            uint imageSize, int chunkSize, int chunkCount)
        {
            w.WriteUInt32(imageId);
            version.Write(w);
            w.WriteByte(flags);
            w.WriteByte((byte)hashKind);
            w.WriteUInt32(imageSize);
            w.WriteUInt32((uint)chunkSize);
            w.WriteUInt32((uint)chunkCount);
        }

        /// <summary>Image size 1 .. 64 MiB, chunk size 256 .. 65536, chunk count = ceil(size / chunk) (else
        /// LengthMismatch) and ≤ 16384; errors name the message as <paramref name="what"/> ("manifest", "root").</summary>
        public static void CheckSizes(string what, uint imageSize, long chunkSize, long chunkCount)
        {
            if (imageSize == 0 || imageSize > Manifest.MaxImageSize) throw WireReader.OutOfRange(what + " image size", imageSize);
            if (chunkSize < Manifest.MinChunkSize || chunkSize > Manifest.MaxChunkSize) throw WireReader.OutOfRange(what + " chunk size", chunkSize);
            int expected = Manifest.ChunkCountFor(imageSize, (int)chunkSize);
            if (chunkCount != expected) throw new ProtocolException(ProtocolError.LengthMismatch, what + " chunk count " + chunkCount + " does not match size " + imageSize + " / chunk " + chunkSize);
            if (expected > Manifest.MaxChunkCount) throw WireReader.OutOfRange(what + " chunk count", expected);
        }

        /// <summary>Bytes of chunk <paramref name="index"/>: the chunk size, the last one what is left of the image.</summary>
        public static int ChunkLength(uint imageSize, int chunkSize, int chunkCount, int index)
        {
            if (index < chunkCount - 1) return chunkSize;
            return (int)(imageSize - (uint)(chunkSize * (chunkCount - 1)));
        }
    }
}
