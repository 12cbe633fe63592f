namespace IotOta.DeviceFirmware.Crypto
{
    /// <summary>
    /// One ECDSA P-256 verification (FIPS 186-4 6.4 / SEC 1 4.1.4) over a 32-byte message hash, in managed
    /// <c>uint</c>/<c>ulong</c> arithmetic only: for runtimes without ECDSA (nanoFramework). Create one per
    /// verification: the constructor allocates every working array (about forty 8-limb arrays, see
    /// docs/protocol.md), <see cref="Verify"/> allocates nothing more. Not thread-safe; use one instance per thread.
    /// <para>Checks, in order: r and s in [1, n-1]; the public key is an uncompressed SEC1 point (0x04 || X || Y)
    /// with coordinates below p and on the curve; R = u1·G + u2·Q (Shamir's trick: one shared doubling chain,
    /// adding G, Q or the precomputed G+Q per bit) is not at infinity; and R.x mod n == r (checked in Jacobian
    /// coordinates, so the whole verification costs two field inversions and one scalar inversion).</para>
    /// </summary>
    public sealed class EcdsaP256
    {
        public const int PublicKeyLength = 65;
        public const int SignatureLength = 64;
        public const int HashLength = 32;

        private readonly P256Modulus _field;
        private readonly P256Modulus _order;
        private readonly P256Curve _curve;
        private readonly P256Point _g = new P256Point();
        private readonly P256Point _q = new P256Point();
        private readonly P256Point _gq = new P256Point();
        private readonly P256Point _acc = new P256Point();
        private readonly uint[] _r = new uint[8];
        private readonly uint[] _s = new uint[8];
        private readonly uint[] _e = new uint[8];
        private readonly uint[] _w = new uint[8];
        private readonly uint[] _u1 = new uint[8];
        private readonly uint[] _u2 = new uint[8];

        public EcdsaP256()
        {
            _field = P256Modulus.Field();
            _order = P256Modulus.Order();
            _curve = new P256Curve(_field);
        }

        /// <summary>Field (mod p) multiplications and squarings done so far by this instance.</summary>
        public int FieldMultiplications { get { return _field.Multiplications; } }

        /// <summary>Scalar (mod n) multiplications and squarings done so far by this instance.</summary>
        public int ScalarMultiplications { get { return _order.Multiplications; } }

        /// <summary>Whether key[keyOffset..+65] is an uncompressed P-256 public key on the curve.</summary>
        public bool IsValidPublicKey(byte[] key, int keyOffset)
        {
            if (key == null || keyOffset < 0 || keyOffset > key.Length - PublicKeyLength) return false;
            return LoadPublicKey(key, keyOffset);
        }

        /// <summary>
        /// True when signature[signatureOffset..+64] (r || s, big-endian, IEEE P1363) is a valid signature of the
        /// 32-byte hash at hash[hashOffset] under the 65-byte uncompressed public key at key[keyOffset].
        /// False for any bad input (null or short arrays included); never throws.
        /// </summary>
        public bool Verify(byte[] key, int keyOffset, byte[] hash, int hashOffset, byte[] signature, int signatureOffset)
        {
            if (key == null || hash == null || signature == null) return false;
            if (keyOffset < 0 || keyOffset > key.Length - PublicKeyLength) return false;
            if (hashOffset < 0 || hashOffset > hash.Length - HashLength) return false;
            if (signatureOffset < 0 || signatureOffset > signature.Length - SignatureLength) return false;

            Limbs256.FromBigEndian(signature, signatureOffset, _r);
            Limbs256.FromBigEndian(signature, signatureOffset + 32, _s);
            if (Limbs256.IsZero(_r) || !_order.IsReduced(_r)) return false;
            if (Limbs256.IsZero(_s) || !_order.IsReduced(_s)) return false;
            if (!LoadPublicKey(key, keyOffset)) return false;

            // e = hash mod n (hash < 2^256 < 2n: at most one subtraction)
            Limbs256.FromBigEndian(hash, hashOffset, _e);
            if (!_order.IsReduced(_e)) Limbs256.Sub(_e, _e, _order.Modulus);

            // w = s^-1 (Montgomery form); u1 = e·w, u2 = r·w come out of the Montgomery product as plain values
            _order.ToMontgomery(_w, _s);
            _order.Invert(_w, _w);
            _order.Mul(_u1, _e, _w);
            _order.Mul(_u2, _r, _w);

            // table: G, Q (set by LoadPublicKey), G + Q, all affine
            _field.ToMontgomery(_g.X, P256Constants.Gx);
            _field.ToMontgomery(_g.Y, P256Constants.Gy);
            _field.SetOne(_g.Z);
            _gq.CopyFrom(_g);
            _curve.AddAffine(_gq, _q);
            _curve.Normalize(_gq);

            // R = u1·G + u2·Q, most significant bit first
            P256Point acc = _acc;
            acc.SetInfinity();
            for (int i = 255; i >= 0; i--)
            {
                if (!acc.IsInfinity) _curve.Double(acc);
                int b1 = Limbs256.Bit(_u1, i);
                int b2 = Limbs256.Bit(_u2, i);
                if (b1 != 0 && b2 != 0) _curve.AddAffine(acc, _gq);
                else if (b1 != 0) _curve.AddAffine(acc, _g);
                else if (b2 != 0) _curve.AddAffine(acc, _q);
            }
            if (acc.IsInfinity) return false;

            // R.x mod n == r without an inversion: R.x = X / Z^2, and R.x < p < 2n, so R.x mod n == r exactly when
            // X == r·Z^2, or when r + n < p and X == (r + n)·Z^2 (all mod p, in Montgomery form)
            return XModNEquals(acc, _r);
        }

        private bool XModNEquals(P256Point a, uint[] r)
        {
            uint[] z2 = _w, candidate = _u1;
            _field.Square(z2, a.Z);
            _field.ToMontgomery(candidate, r);           // r < n < p: reduced
            _field.Mul(candidate, candidate, z2);
            if (Limbs256.Compare(candidate, a.X) == 0) return true;
            uint carry = Limbs256.Add(candidate, r, _order.Modulus);
            if (carry != 0 || !_field.IsReduced(candidate)) return false;
            _field.ToMontgomery(candidate, candidate);
            _field.Mul(candidate, candidate, z2);
            return Limbs256.Compare(candidate, a.X) == 0;
        }

        private bool LoadPublicKey(byte[] key, int keyOffset)
        {
            if (key[keyOffset] != 0x04) return false;
            uint[] x = _u1, y = _u2; // free until the scalars are computed
            Limbs256.FromBigEndian(key, keyOffset + 1, x);
            Limbs256.FromBigEndian(key, keyOffset + 33, y);
            return _curve.TrySetAffine(_q, x, y);
        }
    }
}
