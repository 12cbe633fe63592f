namespace IotOta.Shared.Protocol
{
    /// <summary>
    /// The signed description of one firmware image: id, version, size, chunking, whole-image hash,
    /// one hash per chunk, and an ECDSA P-256/SHA-256 signature (IEEE P1363, r||s) over every byte before it.
    /// </summary>
    public sealed class Manifest
    {
        public const int HashLength = 32;
        public const int SignatureLength = 64;
        public const int MinChunkSize = 256;
        public const int MaxChunkSize = 65536;
        public const int MaxChunkCount = 16384;
        public const uint MaxImageSize = 64u * 1024 * 1024;

        /// <summary>Where the chunk-hash list starts in an encoded manifest (everything before it is the fixed head).</summary>
        public const int ChunkHashesOffset = WireHeader.Length + 4 + 6 + 1 + 1 + 4 + 4 + 4 + HashLength;
        /// <summary>Bytes after the chunk-hash list: key id, signature length, signature.</summary>
        public const int TailLength = 1 + 1 + SignatureLength;

        /// <summary>Flag: the rollout deliberately installs an older version (signed, so a device may accept it).</summary>
        public const byte FlagRollback = 0x01;

        public uint ImageId;
        public FirmwareVersion Version;
        public byte Flags;
        public ChunkHashKind HashKind;
        public uint ImageSize;
        public int ChunkSize;
        public int ChunkCount;
        public byte[] ImageHash;
        /// <summary>ChunkCount * 32 bytes, chunk i's hash at i*32.</summary>
        public byte[] ChunkHashes;
        public byte KeyId;
        public byte[] Signature;
        /// <summary>Number of leading bytes of the encoded manifest that the signature covers.</summary>
        public int SignedLength;

        public bool IsRollback { get { return (Flags & FlagRollback) != 0; } }

        public static int EncodedLength(int chunkCount)
        {
            return WireHeader.Length + 4 + 6 + 1 + 1 + 4 + 4 + 4 + HashLength + chunkCount * HashLength + 1 + 1 + SignatureLength;
        }

        public int EncodedLengthValue { get { return EncodedLength(ChunkCount); } }

        public static int ChunkCountFor(uint imageSize, int chunkSize)
        {
            return (int)((imageSize + (uint)chunkSize - 1) / (uint)chunkSize);
        }

        public int ChunkOffset(int index)
        {
            return index * ChunkSize;
        }

        public int ChunkLength(int index)
        {
            return ImageShape.ChunkLength(ImageSize, ChunkSize, ChunkCount, index);
        }

        /// <summary>Writes the manifest; the signature bytes are written as they are (zeros before signing).
        /// Returns the number of bytes written. SignedLength is set.</summary>
        public int Encode(byte[] buffer, int offset)
        {
            Validate();
            WireWriter w = new WireWriter(buffer, offset, buffer.Length - offset);
            WireHeader.Write(w, MessageType.Manifest);
            ImageShape.Write(w, ImageId, Version, Flags, HashKind, ImageSize, ChunkSize, ChunkCount);
            w.WriteBytes(ImageHash, 0, HashLength);
            w.WriteBytes(ChunkHashes, 0, ChunkCount * HashLength);
            w.WriteByte(KeyId);
            SignedLength = w.Length;
            w.WriteByte(SignatureLength);
            if (Signature != null)
            {
                w.WriteBytes(Signature, 0, SignatureLength);
            }
            else
            {
                for (int i = 0; i < SignatureLength; i++) w.WriteByte(0);
            }
            return w.Length;
        }

        public byte[] ToBytes()
        {
            byte[] b = new byte[EncodedLength(ChunkCount)];
            Encode(b, 0);
            return b;
        }

        private void Validate()
        {
            if (Version == null) throw WireReader.OutOfRange("manifest version (missing)", 0);
            ImageShape.CheckSizes("manifest", ImageSize, ChunkSize, ChunkCount);
            if (ImageHash == null || ImageHash.Length != HashLength) throw WireReader.OutOfRange("manifest image hash length", ImageHash == null ? 0 : ImageHash.Length);
            if (ChunkHashes == null || ChunkHashes.Length != ChunkCount * HashLength) throw WireReader.OutOfRange("manifest chunk hash table length", ChunkHashes == null ? 0 : ChunkHashes.Length);
            if (Signature != null && Signature.Length != SignatureLength) throw WireReader.OutOfRange("manifest signature length", Signature.Length);
        }

        /// <summary>Decodes and checks a manifest. Does not check the signature (see ManifestSignature on the device).</summary>
        public static Manifest Decode(byte[] buffer, int offset, int count)
        {
            WireReader r = new WireReader(buffer, offset, count);
            Manifest m = ReadHead(r);
            int expected = m.ChunkCount;
            if (r.Remaining != expected * HashLength + HashLength + 2 + SignatureLength)
            {
                throw new ProtocolException(r.Remaining < expected * HashLength + HashLength + 2 + SignatureLength ? ProtocolError.Truncated : ProtocolError.TrailingBytes,
                    "manifest length does not fit " + expected + " chunk hashes");
            }
            m.ImageHash = new byte[HashLength];
            r.ReadBytes(m.ImageHash, 0, HashLength, "image hash");
            m.ChunkHashes = new byte[expected * HashLength];
            r.ReadBytes(m.ChunkHashes, 0, m.ChunkHashes.Length, "chunk hashes");
            m.KeyId = r.ReadByte();
            m.SignedLength = r.Position - offset;
            byte sigLen = r.ReadByte();
            if (sigLen != SignatureLength) throw WireReader.OutOfRange("manifest signature length", sigLen);
            m.Signature = new byte[SignatureLength];
            r.ReadBytes(m.Signature, 0, SignatureLength, "signature");
            r.ExpectEnd("manifest");
            return m;
        }

        /// <summary>Reads and checks the fixed fields up to the image hash (not included).</summary>
        private static Manifest ReadHead(WireReader r)
        {
            WireHeader.Expect(r, MessageType.Manifest);
            Manifest m = new Manifest();
            m.ImageId = r.ReadUInt32();
            m.Version = FirmwareVersion.Read(r);
            m.Flags = r.ReadByte();
            byte kind = r.ReadByte();
            if (kind > (byte)ChunkHashKind.HmacSha256PublicKey) throw WireReader.OutOfRange("manifest chunk hash kind", kind);
            m.HashKind = (ChunkHashKind)kind;
            m.ImageSize = r.ReadUInt32();
            if (m.ImageSize == 0 || m.ImageSize > MaxImageSize) throw WireReader.OutOfRange("manifest image size", m.ImageSize);
            uint cs = r.ReadUInt32();
            if (cs < MinChunkSize || cs > MaxChunkSize) throw WireReader.OutOfRange("manifest chunk size", cs);
            m.ChunkSize = (int)cs;
            uint cc = r.ReadUInt32();
            int expected = ChunkCountFor(m.ImageSize, m.ChunkSize);
            if (cc != (uint)expected) throw new ProtocolException(ProtocolError.LengthMismatch, "manifest chunk count " + cc + " does not match size " + m.ImageSize + " / chunk " + m.ChunkSize);
            if (expected > MaxChunkCount) throw WireReader.OutOfRange("manifest chunk count", expected);
            m.ChunkCount = expected;
            return m;
        }

        /// <summary>
        /// Decodes and checks a manifest of <paramref name="totalLength"/> bytes from its fixed head
        /// (<see cref="ChunkHashesOffset"/> bytes at <paramref name="headOffset"/>) and its tail (<see cref="TailLength"/>
        /// bytes at <paramref name="tailOffset"/>) without the chunk-hash list: <see cref="ChunkHashes"/> stays null, so
        /// a device holds a manifest in a fixed, small amount of RAM whatever the image's size and keeps the list in
        /// flash. Head and tail may lie in one buffer (a whole encoded manifest) or be read apart from flash.
        /// </summary>
        public static Manifest DecodeWithoutHashes(byte[] buffer, int headOffset, int tailOffset, int totalLength)
        {
            if (totalLength < ChunkHashesOffset + TailLength) throw new ProtocolException(ProtocolError.Truncated, "manifest of " + totalLength + " bytes is too short");
            WireReader r = new WireReader(buffer, headOffset, ChunkHashesOffset);
            Manifest m = ReadHead(r);
            int expected = m.ChunkCount;
            int hashes = expected * HashLength;
            if (totalLength != ChunkHashesOffset + hashes + TailLength)
            {
                throw new ProtocolException(totalLength < ChunkHashesOffset + hashes + TailLength ? ProtocolError.Truncated : ProtocolError.TrailingBytes,
                    "manifest length does not fit " + expected + " chunk hashes");
            }
            m.ImageHash = new byte[HashLength];
            r.ReadBytes(m.ImageHash, 0, HashLength, "image hash");
            WireReader t = new WireReader(buffer, tailOffset, TailLength);
            m.KeyId = t.ReadByte();
            m.SignedLength = ChunkHashesOffset + hashes + 1;
            byte sigLen = t.ReadByte();
            if (sigLen != SignatureLength) throw WireReader.OutOfRange("manifest signature length", sigLen);
            m.Signature = new byte[SignatureLength];
            t.ReadBytes(m.Signature, 0, SignatureLength, "signature");
            return m;
        }

        /// <summary>True when the chunk's hash (computed by the caller) equals the manifest's entry.</summary>
        public bool ChunkHashEquals(int index, byte[] hash, int hashOffset)
        {
            int at = index * HashLength;
            for (int i = 0; i < HashLength; i++)
            {
                if (ChunkHashes[at + i] != hash[hashOffset + i]) return false;
            }
            return true;
        }
    }
}
