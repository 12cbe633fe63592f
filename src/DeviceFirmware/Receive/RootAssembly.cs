using IotOta.DeviceFirmware.Crypto;
using IotOta.DeviceFirmware.Ports;
using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Receive
{
    /// <summary>
    /// Protocol v2 (issue #15) on the device: the signed <see cref="ImageRoot"/> of the image being received and its
    /// chunk-hash list put together from <see cref="HashPiece"/>s, each checked against the root before a single hash
    /// of it is kept. When every piece is held it gives the image as a <see cref="Manifest"/> (what the receive path
    /// checks packets against) and the form the update-state partition stores (root ‖ hash list), which a restart
    /// checks again (signature, then the tree) before it trusts it. The list is kept in RAM for now (32 B per chunk);
    /// issue #17's HashListStore moves it to flash piece by piece. Not thread-safe: the agent calls it under its lock.
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
        private readonly Sha256Stream _sha = new Sha256Stream();
        private readonly byte[] _scratch = new byte[HashListTree.ScratchLength];
        private readonly HashPiece _piece = new HashPiece();
        private ImageRoot _root;
        private ImageRoot _spare = new ImageRoot();
        private byte[] _rootBytes = new byte[ImageRoot.EncodedLength];
        private byte[] _hashes;
        private bool[] _held;
        private int _heldCount;

        public RootAssembly(ISignatureVerifier verifier)
        {
            _verifier = verifier;
        }

        /// <summary>The root being assembled (null before one verified).</summary>
        public ImageRoot Root { get { return _root; } }
        public int PieceCount { get { return _root == null ? 0 : _root.PieceCount; } }
        public bool IsComplete { get { return _root != null && _heldCount == _root.PieceCount; } }
        public bool HoldsPiece(int p) { return _held != null && p >= 0 && p < _held.Length && _held[p]; }

        /// <summary>The first piece not held, or -1.</summary>
        public int FirstMissing()
        {
            if (_held == null) return -1;
            for (int p = 0; p < _held.Length; p++) if (!_held[p]) return p;
            return -1;
        }

        /// <summary>A root from the group topic (or a peer): Same when it is the one held, Accepted when its signature
        /// verifies (the pieces start over), Refused otherwise (WhyRefused).</summary>
        public int OfferRoot(byte[] buffer, int offset, int count)
        {
            _spare.Parse(buffer, offset, count);
            if (_root != null && _spare.ImageId == _root.ImageId) return Same;
            if (!_verifier.Verify(_spare.KeyId, buffer, offset, ImageRoot.SignedLength, _spare.Signature, 0))
            {
                WhyRefused = "image root signature does not verify (key " + _spare.KeyId + ")";
                return Refused;
            }
            ImageRoot r = _spare;
            _spare = _root ?? new ImageRoot();
            _root = r;
            for (int i = 0; i < ImageRoot.EncodedLength; i++) _rootBytes[i] = buffer[offset + i];
            _hashes = new byte[r.ChunkCount * Manifest.HashLength];
            _held = new bool[r.PieceCount];
            _heldCount = 0;
            return Accepted;
        }

        public string WhyRefused { get; private set; }

        /// <summary>A piece (the payload of a DataPacket flagged FlagHashPiece): kept when it belongs to the root held
        /// and climbs to its signed hash-list root.</summary>
        public int OfferPiece(byte[] buffer, int offset, int count)
        {
            if (_root == null) return PieceStale;
            _piece.Parse(buffer, offset, count);
            if (_piece.ImageId != _root.ImageId) return PieceStale;
            if (!_piece.VerifyAgainst(_root, _sha, _scratch)) return PieceBad;
            if (_held[_piece.Piece]) return PieceDuplicate;
            int at = _piece.Piece * _root.HashesPerPiece * Manifest.HashLength;
            for (int i = 0; i < _piece.HashCount * Manifest.HashLength; i++) _hashes[at + i] = buffer[_piece.HashesOffset + i];
            _held[_piece.Piece] = true;
            _heldCount++;
            return PieceTaken;
        }

        /// <summary>Piece p as a HashPiece message (hashes and a freshly built proof) into buffer at offset; its length.</summary>
        public int WritePiece(int p, byte[] buffer, int offset)
        {
            byte[] rootHash = new byte[Manifest.HashLength];
            byte[] proof = new byte[Manifest.HashLength * HashListTree.MaxProof];
            int k = HashListTree.Build(_sha, _hashes, _root.ChunkCount, _root.HashesPerPiece, rootHash, p, proof);
            return HashPiece.Encode(buffer, offset, _root.ImageId, p, _root.PieceCount, _hashes, p * _root.HashesPerPiece * Manifest.HashLength,
                _root.HashesIn(p), proof, 0, k);
        }

        /// <summary>The complete image as the receive path's Manifest (signature: the root's).</summary>
        public Manifest ToManifest()
        {
            return ManifestOf(_root, _hashes);
        }

        private static Manifest ManifestOf(ImageRoot r, byte[] hashes)
        {
            Manifest m = new Manifest();
            m.ImageId = r.ImageId;
            m.Version = r.Version;
            m.Flags = r.Flags;
            m.HashKind = r.HashKind;
            m.ImageSize = r.ImageSize;
            m.ChunkSize = r.ChunkSize;
            m.ChunkCount = r.ChunkCount;
            m.ImageHash = r.ImageHash;
            m.ChunkHashes = hashes;
            m.KeyId = r.KeyId;
            m.Signature = r.Signature;
            m.SignedLength = ImageRoot.SignedLength;
            return m;
        }

        /// <summary>Bytes the update-state partition stores for a restart: root ‖ hash list.</summary>
        public byte[] StoredForm()
        {
            byte[] b = new byte[ImageRoot.EncodedLength + _hashes.Length];
            for (int i = 0; i < ImageRoot.EncodedLength; i++) b[i] = _rootBytes[i];
            for (int i = 0; i < _hashes.Length; i++) b[ImageRoot.EncodedLength + i] = _hashes[i];
            return b;
        }

        /// <summary>True when stored bytes are in the v2 form (they start with an ImageRoot header).</summary>
        public static bool IsStoredForm(byte[] b, int length)
        {
            return length > ImageRoot.EncodedLength && WireHeader.Peek(b, 0, ImageRoot.EncodedLength) == MessageType.ImageRoot;
        }

        /// <summary>Checks a stored root ‖ hash list again (signature, then the tree over the list), adopts it and gives
        /// its Manifest, or null when anything does not hold.</summary>
        public Manifest Restore(byte[] b, int length)
        {
            ISignatureVerifier verifier = _verifier;
            ImageRoot r = new ImageRoot();
            try
            {
                r.Parse(b, 0, ImageRoot.EncodedLength);
            }
            catch (ProtocolException)
            {
                return null;
            }
            if (length != ImageRoot.EncodedLength + r.ChunkCount * Manifest.HashLength) return null;
            if (!verifier.Verify(r.KeyId, b, 0, ImageRoot.SignedLength, r.Signature, 0)) return null;
            byte[] hashes = new byte[r.ChunkCount * Manifest.HashLength];
            for (int i = 0; i < hashes.Length; i++) hashes[i] = b[ImageRoot.EncodedLength + i];
            byte[] rootHash = new byte[Manifest.HashLength];
            HashListTree.Build(new Sha256Stream(), hashes, r.ChunkCount, r.HashesPerPiece, rootHash, 0, null);
            for (int i = 0; i < Manifest.HashLength; i++) if (rootHash[i] != r.HashListRoot[i]) return null;
            // Adopt it: this device can answer its peers' piece requests again.
            _root = r;
            for (int i = 0; i < ImageRoot.EncodedLength; i++) _rootBytes[i] = b[i];
            _hashes = hashes;
            _held = new bool[r.PieceCount];
            for (int p = 0; p < _held.Length; p++) _held[p] = true;
            _heldCount = _held.Length;
            return ManifestOf(r, hashes);
        }
    }
}
