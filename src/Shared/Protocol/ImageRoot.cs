namespace IotOta.Shared.Protocol
{
    /// <summary>
    /// Protocol v2: the small, fixed-size signed description of an image that replaces the v1 <see cref="Manifest"/> on
    /// the first network. It names the image (id, version, size, chunking, whole-image hash) and commits to the
    /// chunk-hash list through <see cref="HashListRoot"/>, the root of a hash tree over the list cut into pieces of
    /// <see cref="HashesPerPiece"/> hashes (<see cref="HashPiece"/>, <see cref="HashListTree"/>); the pieces travel
    /// over the second network and each is checked against this root before use. ECDSA P-256/SHA-256 signature
    /// (IEEE P1363 r‖s) over bytes [0, SignedLength). 160 bytes whatever the image size.
    /// </summary>
    public sealed class ImageRoot
    {
        public const int EncodedLength = WireHeader.Length + 4 + 6 + 1 + 1 + 4 + 4 + 4 + 2 + Manifest.HashLength + Manifest.HashLength + 1 + 1 + Manifest.SignatureLength;
        /// <summary>Bytes the signature covers: everything up to and including keyId.</summary>
        public const int SignedLength = EncodedLength - 1 - Manifest.SignatureLength;
        /// <summary>Largest piece: 1024 hashes (32 KiB), so a piece with its proof always fits a peer frame and a device's
        /// receive buffer.</summary>
        public const int MaxHashesPerPiece = 1024;

        private WireReader _reader;
        private WireWriter _writer;

        public uint ImageId;
        public FirmwareVersion Version;
        public byte Flags;
        public ChunkHashKind HashKind;
        public uint ImageSize;
        public int ChunkSize;
        public int ChunkCount;
        public int HashesPerPiece;
        /// <summary>32 bytes: SHA-256 of the whole image.</summary>
        public byte[] ImageHash = new byte[Manifest.HashLength];
        /// <summary>32 bytes: root of the hash tree over the chunk-hash list's pieces.</summary>
        public byte[] HashListRoot = new byte[Manifest.HashLength];
        public byte KeyId;
        /// <summary>64 bytes (zeros before signing).</summary>
        public byte[] Signature = new byte[Manifest.SignatureLength];

        public bool IsRollback { get { return (Flags & Manifest.FlagRollback) != 0; } }

        /// <summary>Pieces of the chunk-hash list: ceil(ChunkCount / HashesPerPiece).</summary>
        public int PieceCount { get { return PieceCountFor(ChunkCount, HashesPerPiece); } }

        public static int PieceCountFor(int chunkCount, int hashesPerPiece)
        {
            return (chunkCount + hashesPerPiece - 1) / hashesPerPiece;
        }

        /// <summary>The most hashes per piece such that a piece with its longest proof (<see cref="HashPiece"/>) is no
        /// longer than one chunk: a piece then fits every buffer and frame a chunk fits (a device refuses a root whose
        /// pieces do not fit its largest chunk).</summary>
        public static int HashesPerPieceFitting(int chunkSize, int chunkCount)
        {
            int per = (chunkSize - HashPiece.HeaderLength) / Manifest.HashLength;
            if (per > MaxHashesPerPiece) per = MaxHashesPerPiece;
            while (per > 1 && HashPiece.EncodedLength(per, HashListTree.MaxProofFor(PieceCountFor(chunkCount, per))) > chunkSize) per--;
            return per < 1 ? 1 : per;
        }

        /// <summary>Bytes of the longest piece of this root (hashes and the longest proof).</summary>
        public int MaxPieceLength { get { return HashPiece.EncodedLength(HashesPerPiece < ChunkCount ? HashesPerPiece : ChunkCount, HashListTree.MaxProofFor(PieceCount)); } }

        /// <summary>Hashes in piece <paramref name="piece"/> (the last one may be short).</summary>
        public int HashesIn(int piece)
        {
            int first = piece * HashesPerPiece;
            int left = ChunkCount - first;
            return left < HashesPerPiece ? left : HashesPerPiece;
        }

        public int ChunkLength(int index)
        {
            return ImageShape.ChunkLength(ImageSize, ChunkSize, ChunkCount, index);
        }

        public int Encode(byte[] buffer, int offset)
        {
            Validate();
            WireWriter w = WireWriter.Reuse(ref _writer, buffer, offset, buffer.Length - offset);
            WireHeader.Write(w, MessageType.ImageRoot);
            ImageShape.Write(w, ImageId, Version, Flags, HashKind, ImageSize, ChunkSize, ChunkCount);
            w.WriteUInt16(HashesPerPiece);
            w.WriteBytes(ImageHash, 0, Manifest.HashLength);
            w.WriteBytes(HashListRoot, 0, Manifest.HashLength);
            w.WriteByte(KeyId);
            w.WriteByte(Manifest.SignatureLength);
            w.WriteBytes(Signature, 0, Manifest.SignatureLength);
            return w.Length;
        }

        public byte[] ToBytes()
        {
            byte[] b = new byte[EncodedLength];
            Encode(b, 0);
            return b;
        }

        private void Validate()
        {
            if (Version == null) throw WireReader.OutOfRange("root version (missing)", 0);
            CheckSizes(ImageSize, ChunkSize, ChunkCount, HashesPerPiece);
            if (ImageHash == null || ImageHash.Length != Manifest.HashLength) throw WireReader.OutOfRange("root image hash length", ImageHash == null ? 0 : ImageHash.Length);
            if (HashListRoot == null || HashListRoot.Length != Manifest.HashLength) throw WireReader.OutOfRange("root hash-list root length", HashListRoot == null ? 0 : HashListRoot.Length);
            if (Signature == null || Signature.Length != Manifest.SignatureLength) throw WireReader.OutOfRange("root signature length", Signature == null ? 0 : Signature.Length);
        }

        private static void CheckSizes(uint imageSize, long chunkSize, long chunkCount, int hashesPerPiece)
        {
            ImageShape.CheckSizes("root", imageSize, chunkSize, chunkCount);
            if (hashesPerPiece < 1 || hashesPerPiece > MaxHashesPerPiece) throw WireReader.OutOfRange("root hashes per piece", hashesPerPiece);
        }

        /// <summary>Parses into this instance (no allocation); on any error the instance keeps its previous content.
        /// A v1 Manifest given here is refused as <see cref="ProtocolError.UnsupportedVersion"/>, never misread.</summary>
        public void Parse(byte[] buffer, int offset, int count)
        {
            WireReader r = WireReader.Reuse(ref _reader, buffer, offset, count);
            if (count >= WireHeader.Length && buffer[offset] == WireHeader.Magic0 && buffer[offset + 1] == WireHeader.Magic1
                && buffer[offset + 2] == WireHeader.Version && buffer[offset + 3] == (byte)MessageType.Manifest)
            {
                throw new ProtocolException(ProtocolError.UnsupportedVersion, "a protocol v1 Manifest (the whole chunk-hash list) where a v2 ImageRoot was expected: the sender speaks the old layout");
            }
            WireHeader.Expect(r, MessageType.ImageRoot);
            if (r.Remaining != EncodedLength - WireHeader.Length)
            {
                throw new ProtocolException(r.Remaining < EncodedLength - WireHeader.Length ? ProtocolError.Truncated : ProtocolError.TrailingBytes,
                    "image root must be " + EncodedLength + " bytes");
            }
            int at = r.Position;
            uint imageSize = ReadU32(buffer, at + 12);
            uint chunkSize = ReadU32(buffer, at + 16);
            uint chunkCount = ReadU32(buffer, at + 20);
            int perPiece = buffer[at + 24] | (buffer[at + 25] << 8);
            byte kind = buffer[at + 11];
            if (kind > (byte)ChunkHashKind.HmacSha256PublicKey) throw WireReader.OutOfRange("root chunk hash kind", kind);
            CheckSizes(imageSize, chunkSize, chunkCount, perPiece);
            if (buffer[at + 26 + 2 * Manifest.HashLength + 1] != Manifest.SignatureLength) throw WireReader.OutOfRange("root signature length", buffer[at + 26 + 2 * Manifest.HashLength + 1]);
            // Every check passed: now fill the fields.
            ImageId = r.ReadUInt32();
            Version = FirmwareVersion.Read(r);
            Flags = r.ReadByte();
            HashKind = (ChunkHashKind)r.ReadByte();
            ImageSize = r.ReadUInt32();
            ChunkSize = (int)r.ReadUInt32();
            ChunkCount = (int)r.ReadUInt32();
            HashesPerPiece = r.ReadUInt16();
            if (ImageHash == null || ImageHash.Length != Manifest.HashLength) ImageHash = new byte[Manifest.HashLength];
            if (HashListRoot == null || HashListRoot.Length != Manifest.HashLength) HashListRoot = new byte[Manifest.HashLength];
            if (Signature == null || Signature.Length != Manifest.SignatureLength) Signature = new byte[Manifest.SignatureLength];
            r.ReadBytes(ImageHash, 0, Manifest.HashLength, "image hash");
            r.ReadBytes(HashListRoot, 0, Manifest.HashLength, "hash-list root");
            KeyId = r.ReadByte();
            r.ReadByte();
            r.ReadBytes(Signature, 0, Manifest.SignatureLength, "signature");
            r.ExpectEnd("image root");
        }

        public static ImageRoot Decode(byte[] buffer, int offset, int count)
        {
            ImageRoot root = new ImageRoot();
            root.Parse(buffer, offset, count);
            return root;
        }

        private static uint ReadU32(byte[] b, int at)
        {
            return (uint)(b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24));
        }
    }
}
