using IotOta.DeviceFirmware.Crypto;
using IotOta.DeviceFirmware.Flash;
using IotOta.DeviceFirmware.Ports;
using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Receive
{
    /// <summary>
    /// Protocol v2 (issue #15) on the device: the signed <see cref="ImageRoot"/> of the image being received and its
    /// chunk-hash list put together in flash from <see cref="HashPiece"/>s. Each piece is checked against the root (its
    /// hashes climbed with its proof, ⌈log2 P⌉ hashes) before a byte of it is written; its proof goes to its slot and
    /// its hashes to the receive path's <see cref="HashListStore"/> (<see cref="RootForm"/>), so nothing of the list is
    /// ever in RAM and a piece is passed on, or given to a peer that asks, read back from flash. A restart checks the
    /// stored root's signature and every stored piece against it again. Its few buffers are allocated with the first
    /// root (a device that only ever sees v1 manifests pays nothing). Not thread-safe: the agent calls it under its lock.
    /// </summary>
    public sealed class RootAssembly
    {
        public const int Refused = 0;
        public const int Same = 1;
        public const int Accepted = 2;
        public const int PieceTaken = 3;
        public const int PieceDuplicate = 4;
        public const int PieceBad = 5;
        public const int PieceStale = 6;

        private readonly ISignatureVerifier _verifier;
        private readonly IHashPort _hash;
        private IHashListDigest _digest;
        private readonly ReceivePath _rx;
        private readonly int _maxChunkSize;
        private ImageRoot _root;
        private ImageRoot _spare;
        private HashPiece _piece;
        private byte[] _scratch;
        private byte[] _header;
        private byte[] _signedDigest;
        private int _heldCount;

        public RootAssembly(ISignatureVerifier verifier, IHashPort hash, ReceivePath rx, int maxChunkSize)
        {
            _verifier = verifier;
            _hash = hash;
            _rx = rx;
            _maxChunkSize = maxChunkSize;
        }

        /// <summary>The root last accepted (null before one verified).</summary>
        public ImageRoot Root { get { return _root; } }
        public int PieceCount { get { return _root == null ? 0 : _root.PieceCount; } }
        public int HeldCount { get { return _heldCount; } }
        public bool IsComplete { get { return Bound && _heldCount == _root.PieceCount; } }
        public string WhyRefused { get; private set; }

        /// <summary>The receive path holds this root's image (its list is bound to the root's stored form).</summary>
        private bool Bound { get { return _root != null && _rx.Manifest != null && _rx.Manifest.ImageId == _root.ImageId; } }

        /// <summary>True when piece p's hashes are in flash (its last entry written: entries go in order, after the proof).</summary>
        public bool HoldsPiece(int p)
        {
            if (!Bound || p < 0 || p >= _root.PieceCount) return false;
            return _rx.Hashes.IsPresent(p * _root.HashesPerPiece + _root.HashesIn(p) - 1);
        }

        /// <summary>The first piece not held, or -1.</summary>
        public int FirstMissing()
        {
            if (!Bound) return -1;
            for (int p = 0; p < _root.PieceCount; p++) if (!HoldsPiece(p)) return p;
            return -1;
        }

        /// <summary>A root from the group topic: Same when it is the one held, Accepted when its signature verifies and
        /// its pieces fit this device's largest chunk, Refused otherwise (WhyRefused).</summary>
        public int OfferRoot(byte[] buffer, int offset, int count)
        {
            if (_spare == null) _spare = new ImageRoot();
            _spare.Parse(buffer, offset, count);
            if (_root != null && _spare.ImageId == _root.ImageId) return Same;
            if (!SignatureVerifies(buffer, offset))
            {
                WhyRefused = "image root signature does not verify (key " + _spare.KeyId + ")";
                return Refused;
            }
            if (_spare.MaxPieceLength > _maxChunkSize)
            {
                WhyRefused = "hash-list pieces of " + _spare.MaxPieceLength + " bytes exceed this device's largest chunk of " + _maxChunkSize;
                return Refused;
            }
            Adopt();
            _heldCount = 0;
            return Accepted;
        }

        private void Adopt()
        {
            ImageRoot r = _spare;
            _spare = _root;
            _root = r;
            if (_piece == null) _piece = new HashPiece();
            if (_scratch == null) _scratch = new byte[HashListTree.ScratchLength];
            if (_header == null) _header = new byte[HashPiece.HeaderLength];
        }

        /// <summary>Bytes of the root's stored form and where its chunk-hash list lies in it (<see cref="RootForm"/>).</summary>
        public int StoredLength { get { return RootForm.Length(_root.ChunkCount, _root.PieceCount); } }
        public int HashListAt { get { return RootForm.HashesOffset(_root.PieceCount); } }

        /// <summary>A piece (the payload of a DataPacket flagged FlagHashPiece): checked against the root, then its
        /// proof and hashes are written to flash once.</summary>
        public int OfferPiece(byte[] buffer, int offset, int count)
        {
            if (!Bound) return PieceStale;
            _piece.Parse(buffer, offset, count);
            if (_piece.ImageId != _root.ImageId) return PieceStale;
            if (!_piece.VerifyAgainst(_root, _digest, _scratch)) return PieceBad;
            if (HoldsPiece(_piece.Piece)) return PieceDuplicate;
            UpdateStateStore store = _rx.Store;
            int stride = RootForm.ProofStride(_root.PieceCount);
            if (_piece.ProofCount > 0)
                store.Partition.Write(store.ManifestByte(RootForm.ProofsOffset + _piece.Piece * stride), _piece.Buffer, _piece.ProofOffset, _piece.ProofCount * Manifest.HashLength);
            _rx.Hashes.WritePiece(_piece.Piece * _root.HashesPerPiece, _piece.Buffer, _piece.HashesOffset, _piece.HashCount);
            _heldCount++;
            if (_heldCount == _root.PieceCount) _rx.OnListComplete();
            return PieceTaken;
        }

        /// <summary>Bytes of piece p as a HashPiece message.</summary>
        public int PieceLength(int p)
        {
            return HashPiece.EncodedLength(_root.HashesIn(p), HashListTree.ProofLength(_root.PieceCount, p));
        }

        /// <summary>Piece p (held) as a HashPiece message into buffer at offset, read back from flash; its length.</summary>
        public int ReadPiece(int p, byte[] buffer, int offset)
        {
            int n = _root.HashesIn(p), k = HashListTree.ProofLength(_root.PieceCount, p);
            int at = offset + HashPiece.WriteHeader(buffer, offset, _root.ImageId, p, _root.PieceCount, n, k);
            int first = p * _root.HashesPerPiece;
            for (int i = 0; i < n; i++) _rx.Hashes.Read(first + i, buffer, at + i * Manifest.HashLength);
            at += n * Manifest.HashLength;
            UpdateStateStore store = _rx.Store;
            if (k > 0) store.Partition.Read(store.ManifestByte(RootForm.ProofsOffset + p * RootForm.ProofStride(_root.PieceCount)), buffer, at, k * Manifest.HashLength);
            return HashPiece.EncodedLength(n, k);
        }

        /// <summary>count bytes of piece p's HashPiece message from byte at, into buffer at offset: the header made here,
        /// hashes and proof read from flash (the forwarder streams a piece this way, a part at a time).</summary>
        public void ReadPiecePart(int p, int at, byte[] buffer, int offset, int count)
        {
            int n = _root.HashesIn(p), k = HashListTree.ProofLength(_root.PieceCount, p);
            int hashesEnd = HashPiece.HeaderLength + n * Manifest.HashLength;
            UpdateStateStore store = _rx.Store;
            while (count > 0)
            {
                int len;
                if (at < HashPiece.HeaderLength)
                {
                    HashPiece.WriteHeader(_header, 0, _root.ImageId, p, _root.PieceCount, n, k);
                    len = HashPiece.HeaderLength - at < count ? HashPiece.HeaderLength - at : count;
                    for (int i = 0; i < len; i++) buffer[offset + i] = _header[at + i];
                }
                else if (at < hashesEnd)
                {
                    len = hashesEnd - at < count ? hashesEnd - at : count;
                    store.Partition.Read(store.HashListOffset + p * _root.HashesPerPiece * Manifest.HashLength + (at - HashPiece.HeaderLength), buffer, offset, len);
                }
                else
                {
                    len = count;
                    store.Partition.Read(store.ManifestByte(RootForm.ProofsOffset + p * RootForm.ProofStride(_root.PieceCount)) + (at - hashesEnd), buffer, offset, len);
                }
                at += len;
                offset += len;
                count -= len;
            }
        }

        /// <summary>The image as the receive path's Manifest: its chunk-hash list stays in flash (ChunkHashes null).</summary>
        public Manifest ToManifest()
        {
            ImageRoot r = _root;
            Manifest m = new Manifest();
            m.ImageId = r.ImageId;
            m.Version = r.Version;
            m.Flags = r.Flags;
            m.HashKind = r.HashKind;
            m.ImageSize = r.ImageSize;
            m.ChunkSize = r.ChunkSize;
            m.ChunkCount = r.ChunkCount;
            m.ImageHash = r.ImageHash;
            m.KeyId = r.KeyId;
            m.Signature = r.Signature;
            m.SignedLength = ImageRoot.SignedLength;
            return m;
        }

        /// <summary>After a restart: the stored root form (<paramref name="storedLength"/> bytes; the root's CRC already
        /// checked) — the root is checked again (signature, layout), then every piece in flash against it; the pieces that
        /// check are held, blank ones are still to come. Null when anything does not hold, or a piece was torn by a
        /// power cut (its entries cannot be written again without erasing the rest: the update starts over). Reads
        /// the root through a buffer of its size allocated here and dropped (start only), the pieces streamed.</summary>
        public Manifest Restore(int storedLength)
        {
            UpdateStateStore store = _rx.Store;
            byte[] rootBytes = new byte[ImageRoot.EncodedLength];
            store.ReadManifestPart(0, rootBytes, 0, ImageRoot.EncodedLength);
            if (_spare == null) _spare = new ImageRoot();
            try
            {
                _spare.Parse(rootBytes, 0, ImageRoot.EncodedLength);
            }
            catch (ProtocolException)
            {
                return null;
            }
            ImageRoot r = _spare;
            if (storedLength != RootForm.Length(r.ChunkCount, r.PieceCount) || r.MaxPieceLength > _maxChunkSize) return null;
            if (!SignatureVerifies(rootBytes, 0)) return null;
            Adopt();
            store.UseHashListAt(RootForm.HashesOffset(r.PieceCount));
            _rx.Hashes.Bind(store.Partition, store.HashListOffset, r.ChunkCount);
            _heldCount = 0;
            for (int p = 0; p < r.PieceCount; p++)
            {
                int check = StoredPieceChecks(p);
                if (check < 0)
                {
                    _root = null; // the root comes again and starts over
                    _rx.Hashes.Unbind();
                    return null;
                }
                if (check > 0) _heldCount++;
            }
            return ToManifest();
        }

        /// <summary>Piece p as flash holds it: 0 when none of its entries was written (still to come), 1 when it climbs
        /// to the signed root, -1 when it does not (torn). Streamed: the leaf over its hashes read 32 bytes at a time,
        /// then one node per proof hash read from its slot (no buffer of a piece's size).</summary>
        private int StoredPieceChecks(int p)
        {
            ImageRoot r = _root;
            UpdateStateStore store = _rx.Store;
            byte[] one = SignedDigestBuffer();
            int first = p * r.HashesPerPiece, n = r.HashesIn(p);
            bool any = false;
            for (int i = 0; i < n && !any; i++) any = _rx.Hashes.IsPresent(first + i);
            if (!any) return 0;
            const int cur = 1 + 2 * Manifest.HashLength, copy = cur + Manifest.HashLength; // as HashListTree.Verify lays out scratch
            _scratch[0] = HashListTree.LeafTag;
            _scratch[1] = (byte)p;
            _scratch[2] = (byte)(p >> 8);
            _scratch[3] = (byte)n;
            _scratch[4] = (byte)(n >> 8);
            _digest.Begin();
            _digest.Append(_scratch, 0, 5);
            for (int i = 0; i < n; i++)
            {
                _rx.Hashes.Read(first + i, one, 0);
                _digest.Append(one, 0, Manifest.HashLength);
            }
            _digest.Finish(_scratch, cur);
            int proofAt = store.ManifestByte(RootForm.ProofsOffset + p * RootForm.ProofStride(r.PieceCount));
            int width = r.PieceCount, at = p, k = 0;
            while (width > 1)
            {
                if ((at ^ 1) < width)
                {
                    store.Partition.Read(proofAt + k * Manifest.HashLength, one, 0, Manifest.HashLength);
                    for (int b = 0; b < Manifest.HashLength; b++) _scratch[copy + b] = _scratch[cur + b];
                    if ((at & 1) == 0) HashListTree.Node(_digest, _scratch, copy, one, 0, _scratch, _scratch, cur);
                    else HashListTree.Node(_digest, one, 0, _scratch, copy, _scratch, _scratch, cur);
                    k++;
                }
                at >>= 1;
                width = (width + 1) >> 1;
            }
            for (int b = 0; b < Manifest.HashLength; b++)
            {
                if (_scratch[cur + b] != r.HashListRoot[b]) return -1;
            }
            return 1;
        }

        private byte[] SignedDigestBuffer()
        {
            if (_signedDigest == null) _signedDigest = new byte[Manifest.HashLength];
            return _signedDigest;
        }

        /// <summary>The root's signature over its signed bytes at buffer[offset..], checked over their SHA-256 streamed
        /// through the platform's hash (the verifier gets the digest only: no message-sized state of its own).</summary>
        private bool SignatureVerifies(byte[] buffer, int offset)
        {
            if (_digest == null) _digest = new HashPortDigest(_hash);
            SignedDigestBuffer();
            _digest.Begin();
            _digest.Append(buffer, offset, ImageRoot.SignedLength);
            _digest.Finish(_signedDigest, 0);
            return _verifier.VerifyDigest(_spare.KeyId, _signedDigest, 0, _spare.Signature, 0);
        }
    }
}
