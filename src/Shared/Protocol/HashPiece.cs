namespace IotOta.Shared.Protocol
{
    /// <summary>
    /// Protocol v2: one piece of an image's chunk-hash list with its proof up the hash-list tree
    /// (<see cref="HashListTree"/>). Travels over the second network (a peer's copy, or an answer to a
    /// <see cref="PieceRequest"/>) and, last, from the gateway. A receiver checks it against the signed
    /// <see cref="ImageRoot"/> before it stores or uses a single hash. `15 + 32·(hashCount + proofCount)` bytes.
    /// Parsing leaves hashes and proof in the caller's buffer (offset views): no allocation.
    /// </summary>
    public sealed class HashPiece
    {
        public const int HeaderLength = WireHeader.Length + 4 + 2 + 2 + 2 + 1;

        private WireReader _reader;

        public uint ImageId;
        public int Piece;
        public int PieceCount;
        public int HashCount;
        public int ProofCount;
        public byte[] Buffer;
        /// <summary>Where the hashes start in <see cref="Buffer"/>: chunk (Piece·HashesPerPiece + j)'s hash at HashesOffset + 32·j.</summary>
        public int HashesOffset;
        public int ProofOffset;

        public static int EncodedLength(int hashCount, int proofCount)
        {
            return HeaderLength + (hashCount + proofCount) * Manifest.HashLength;
        }

        /// <summary>Writes a piece; hashes and proof are copied from the given arrays. Returns the bytes written.</summary>
        public static int Encode(byte[] buffer, int offset, uint imageId, int piece, int pieceCount,
            byte[] hashes, int hashesOffset, int hashCount, byte[] proof, int proofOffset, int proofCount)
        {
            int at = offset + WriteHeader(buffer, offset, imageId, piece, pieceCount, hashCount, proofCount);
            for (int i = 0; i < hashCount * Manifest.HashLength; i++) buffer[at + i] = hashes[hashesOffset + i];
            at += hashCount * Manifest.HashLength;
            for (int i = 0; i < proofCount * Manifest.HashLength; i++) buffer[at + i] = proof[proofOffset + i];
            return EncodedLength(hashCount, proofCount);
        }

        /// <summary>Writes only the header (<see cref="HeaderLength"/> bytes; hashes and then the proof follow it, written
        /// by the caller, e.g. read back from flash). Returns the header's length.</summary>
        public static int WriteHeader(byte[] buffer, int offset, uint imageId, int piece, int pieceCount, int hashCount, int proofCount)
        {
            if (pieceCount < 1 || pieceCount > Manifest.MaxChunkCount) throw WireReader.OutOfRange("piece count", pieceCount);
            if (piece < 0 || piece >= pieceCount) throw WireReader.OutOfRange("piece", piece);
            if (hashCount < 1 || hashCount > ImageRoot.MaxHashesPerPiece) throw WireReader.OutOfRange("piece hash count", hashCount);
            if (proofCount < 0 || proofCount > HashListTree.MaxProof) throw WireReader.OutOfRange("piece proof count", proofCount);
            if (buffer.Length - offset < HeaderLength) throw WireReader.OutOfRange("piece buffer", buffer.Length - offset);
            buffer[offset] = WireHeader.Magic0;
            buffer[offset + 1] = WireHeader.Magic1;
            buffer[offset + 2] = WireHeader.VersionOf(MessageType.HashPiece);
            buffer[offset + 3] = (byte)MessageType.HashPiece;
            Put32(buffer, offset + 4, imageId);
            Put16(buffer, offset + 8, piece);
            Put16(buffer, offset + 10, pieceCount);
            Put16(buffer, offset + 12, hashCount);
            buffer[offset + 14] = (byte)proofCount;
            return HeaderLength;
        }

        private static void Put16(byte[] b, int at, int v)
        {
            b[at] = (byte)v;
            b[at + 1] = (byte)(v >> 8);
        }

        private static void Put32(byte[] b, int at, uint v)
        {
            b[at] = (byte)v;
            b[at + 1] = (byte)(v >> 8);
            b[at + 2] = (byte)(v >> 16);
            b[at + 3] = (byte)(v >> 24);
        }

        /// <summary>Checks the layout (not the tree: see <see cref="HashListTree.Verify"/>) and fills this instance; on
        /// an error the instance keeps its previous content.</summary>
        public void Parse(byte[] buffer, int offset, int count)
        {
            WireReader r = WireReader.Reuse(ref _reader, buffer, offset, count);
            WireHeader.Expect(r, MessageType.HashPiece);
            uint imageId = r.ReadUInt32();
            int piece = r.ReadUInt16();
            int pieceCount = r.ReadUInt16();
            int hashCount = r.ReadUInt16();
            int proofCount = r.ReadByte();
            if (pieceCount < 1) throw WireReader.OutOfRange("piece count", pieceCount);
            if (piece >= pieceCount) throw WireReader.OutOfRange("piece", piece);
            if (hashCount < 1 || hashCount > ImageRoot.MaxHashesPerPiece) throw WireReader.OutOfRange("piece hash count", hashCount);
            if (proofCount > HashListTree.MaxProof) throw WireReader.OutOfRange("piece proof count", proofCount);
            int body = (hashCount + proofCount) * Manifest.HashLength;
            if (r.Remaining != body)
            {
                throw new ProtocolException(r.Remaining < body ? ProtocolError.Truncated : ProtocolError.TrailingBytes,
                    "hash piece of " + hashCount + " hashes and " + proofCount + " proof hashes needs " + body + " bytes after its header, has " + r.Remaining);
            }
            ImageId = imageId;
            Piece = piece;
            PieceCount = pieceCount;
            HashCount = hashCount;
            ProofCount = proofCount;
            Buffer = buffer;
            HashesOffset = r.Position;
            ProofOffset = r.Position + hashCount * Manifest.HashLength;
        }

        /// <summary>True when this piece belongs to <paramref name="root"/>'s image and its hashes, with the proof, give
        /// the signed hash-list root. scratch: <see cref="HashListTree.ScratchLength"/> bytes.</summary>
        public bool VerifyAgainst(ImageRoot root, IHashListDigest d, byte[] scratch)
        {
            if (root == null || ImageId != root.ImageId || PieceCount != root.PieceCount || Piece >= root.PieceCount) return false;
            if (HashCount != root.HashesIn(Piece)) return false;
            return HashListTree.Verify(d, root.HashListRoot, 0, Piece, PieceCount, Buffer, HashesOffset, HashCount, Buffer, ProofOffset, ProofCount, scratch);
        }
    }
}
