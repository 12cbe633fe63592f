namespace IotOta.Shared.Protocol
{
    /// <summary>
    /// The hash tree over the chunk-hash list that an <see cref="ImageRoot"/> signs (docs/protocol.md "Hash-list
    /// tree"). The list is cut into pieces of HashesPerPiece chunk hashes; piece p's leaf is
    /// SHA-256(0x00 ‖ u16 p ‖ u16 hashCount ‖ hashes); an inner node is SHA-256(0x01 ‖ left ‖ right); at a level with an
    /// odd number of nodes the last one moves up unchanged. A <see cref="HashPiece"/> carries the siblings on its way up
    /// (bottom first, none where its node moved up unchanged), so a device checks one piece with ⌈log2 P⌉ hashes and
    /// never needs the whole list in RAM. Allocates nothing (the caller gives the scratch buffer).
    /// </summary>
    public static class HashListTree
    {
        public const byte LeafTag = 0x00;
        public const byte NodeTag = 0x01;
        /// <summary>Longest proof: ⌈log2 16384⌉ = 14; 16 leaves room.</summary>
        public const int MaxProof = 16;
        /// <summary>Scratch bytes <see cref="Verify"/> needs: 65 (tag + two hashes) + two running hashes.</summary>
        public const int ScratchLength = 1 + 2 * Manifest.HashLength + 2 * Manifest.HashLength;

        /// <summary>Siblings on piece <paramref name="piece"/>'s way to the root of a tree over <paramref name="pieceCount"/> leaves.</summary>
        public static int ProofLength(int pieceCount, int piece)
        {
            int n = pieceCount, i = piece, len = 0;
            while (n > 1)
            {
                if ((i ^ 1) < n) len++;
                i >>= 1;
                n = (n + 1) >> 1;
            }
            return len;
        }

        /// <summary>The longest proof of any piece in a tree over <paramref name="pieceCount"/> leaves: ⌈log2 P⌉.</summary>
        public static int MaxProofFor(int pieceCount)
        {
            int len = 0;
            for (int n = pieceCount; n > 1; n = (n + 1) >> 1) len++;
            return len;
        }

        /// <summary>The tree over a whole chunk-hash list (<paramref name="hashes"/>: 32·count bytes): writes the root,
        /// and, when <paramref name="proof"/> is given, piece <paramref name="piece"/>'s proof (returns its length in
        /// hashes). Needs P·32 bytes of working memory (P = pieces), once per call: for the gateway, and for a device
        /// that answers a piece request or checks a stored list after a restart.</summary>
        public static int Build(IHashListDigest d, byte[] hashes, int count, int perPiece, byte[] root, int piece, byte[] proof)
        {
            int pieces = (count + perPiece - 1) / perPiece;
            byte[] level = new byte[pieces * Manifest.HashLength];
            byte[] scratch = new byte[ScratchLength];
            for (int p = 0; p < pieces; p++)
            {
                int n = count - p * perPiece;
                if (n > perPiece) n = perPiece;
                Leaf(d, p, hashes, p * perPiece * Manifest.HashLength, n, scratch, level, p * Manifest.HashLength);
            }
            int width = pieces, i = piece, k = 0;
            while (width > 1)
            {
                if (proof != null && (i ^ 1) < width)
                {
                    int from = (i ^ 1) * Manifest.HashLength;
                    for (int b = 0; b < Manifest.HashLength; b++) proof[k * Manifest.HashLength + b] = level[from + b];
                    k++;
                }
                int up = 0;
                for (int j = 0; j < width; j += 2)
                {
                    if (j + 1 < width) Node(d, level, j * Manifest.HashLength, level, (j + 1) * Manifest.HashLength, scratch, scratch, 1 + 2 * Manifest.HashLength);
                    else for (int b = 0; b < Manifest.HashLength; b++) scratch[1 + 2 * Manifest.HashLength + b] = level[j * Manifest.HashLength + b];
                    for (int b = 0; b < Manifest.HashLength; b++) level[up * Manifest.HashLength + b] = scratch[1 + 2 * Manifest.HashLength + b];
                    up++;
                }
                width = up;
                i >>= 1;
            }
            for (int b = 0; b < Manifest.HashLength; b++) root[b] = level[b];
            return k;
        }

        /// <summary>Piece <paramref name="piece"/>'s leaf into output; scratch holds at least 5 bytes (not overlapping output).</summary>
        public static void Leaf(IHashListDigest d, int piece, byte[] hashes, int offset, int hashCount, byte[] scratch, byte[] output, int outputOffset)
        {
            byte[] head = scratch;
            head[0] = LeafTag;
            head[1] = (byte)piece;
            head[2] = (byte)(piece >> 8);
            head[3] = (byte)hashCount;
            head[4] = (byte)(hashCount >> 8);
            d.Begin();
            d.Append(head, 0, 5);
            d.Append(hashes, offset, hashCount * Manifest.HashLength);
            d.Finish(output, outputOffset);
        }

        /// <summary>SHA-256(0x01 ‖ left ‖ right) into output; scratch holds at least 65 bytes.</summary>
        public static void Node(IHashListDigest d, byte[] left, int leftOffset, byte[] right, int rightOffset, byte[] scratch, byte[] output, int outputOffset)
        {
            scratch[0] = NodeTag;
            for (int k = 0; k < Manifest.HashLength; k++)
            {
                scratch[1 + k] = left[leftOffset + k];
                scratch[1 + Manifest.HashLength + k] = right[rightOffset + k];
            }
            d.Begin();
            d.Append(scratch, 0, 1 + 2 * Manifest.HashLength);
            d.Finish(output, outputOffset);
        }

        /// <summary>True when the piece's hashes, climbed with its proof, give <paramref name="root"/>. scratch: at
        /// least <see cref="ScratchLength"/> bytes. Any inconsistency (piece out of range, wrong proof length) is false.</summary>
        public static bool Verify(IHashListDigest d, byte[] root, int rootOffset, int piece, int pieceCount,
            byte[] hashes, int hashesOffset, int hashCount, byte[] proof, int proofOffset, int proofCount, byte[] scratch)
        {
            if (pieceCount < 1 || piece < 0 || piece >= pieceCount || proofCount != ProofLength(pieceCount, piece)) return false;
            if (scratch == null || scratch.Length < ScratchLength) return false;
            int cur = 1 + 2 * Manifest.HashLength; // the running hash, then a copy of it, live after the node input
            int copy = cur + Manifest.HashLength;
            Leaf(d, piece, hashes, hashesOffset, hashCount, scratch, scratch, cur);
            int n = pieceCount, i = piece, k = 0;
            while (n > 1)
            {
                if ((i ^ 1) < n)
                {
                    for (int b = 0; b < Manifest.HashLength; b++) scratch[copy + b] = scratch[cur + b];
                    int sib = proofOffset + k * Manifest.HashLength;
                    if ((i & 1) == 0) Node(d, scratch, copy, proof, sib, scratch, scratch, cur);
                    else Node(d, proof, sib, scratch, copy, scratch, scratch, cur);
                    k++;
                }
                i >>= 1;
                n = (n + 1) >> 1;
            }
            for (int b = 0; b < Manifest.HashLength; b++)
            {
                if (scratch[cur + b] != root[rootOffset + b]) return false;
            }
            return true;
        }
    }
}
