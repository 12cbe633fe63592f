namespace IotOta.DeviceFirmware.Crypto
{
    /// <summary>
    /// Arithmetic modulo one odd 256-bit prime m (the P-256 field prime p, or the group order n), on
    /// <c>uint[8]</c> limbs (<see cref="Limbs256"/>). Multiplication is Montgomery's (CIOS, 32-bit limbs, 64-bit
    /// intermediates): values taking part in <see cref="Mul"/> are in Montgomery form a·R mod m, R = 2^256.
    /// Add, Sub and comparisons work the same in either form.
    /// All working storage is allocated by the constructor (one instance per verification); no method allocates.
    /// Not thread-safe: the scratch is shared by the methods of one instance.
    /// </summary>
    public sealed class P256Modulus
    {
        private readonly uint[] _m = new uint[8];
        private readonly uint _m0Inv;        // -m^-1 mod 2^32
        private readonly uint[] _r2 = new uint[8]; // R^2 mod m
        private readonly uint[] _one = new uint[8]; // R mod m: 1 in Montgomery form
        private readonly uint[] _exp = new uint[8]; // m - 2, the inversion exponent
        private readonly uint[] _t = new uint[10];  // CIOS accumulator
        private readonly uint[] _acc = new uint[8]; // inversion accumulator
        private int _multiplications;

        /// <param name="modulus">m as limbs (copied); must be odd and above 2^255.</param>
        /// <param name="negInverse">-m^-1 mod 2^32.</param>
        public P256Modulus(uint[] modulus, uint negInverse)
        {
            Limbs256.Copy(modulus, _m);
            _m0Inv = negInverse;
            // R mod m = 2^256 - m (m > 2^255)
            uint[] zero = _acc;
            Limbs256.SetZero(zero);
            Limbs256.Sub(_one, zero, _m);
            // R^2 mod m: double R mod m 256 times
            Limbs256.Copy(_one, _r2);
            for (int i = 0; i < 256; i++) Add(_r2, _r2, _r2);
            uint[] two = _acc;
            Limbs256.SetZero(two);
            two[0] = 2;
            Limbs256.Sub(_exp, _m, two);
        }

        /// <summary>P-256's field prime p = 2^256 - 2^224 + 2^192 + 2^96 - 1.</summary>
        public static P256Modulus Field()
        {
            return new P256Modulus(P256Constants.P, 1);
        }

        /// <summary>P-256's group order n.</summary>
        public static P256Modulus Order()
        {
            return new P256Modulus(P256Constants.N, 0xEE00BC4F);
        }

        /// <summary>Montgomery multiplications (squarings included) done by this instance so far.</summary>
        public int Multiplications { get { return _multiplications; } }

        /// <summary>The modulus' limbs (do not change them).</summary>
        public uint[] Modulus { get { return _m; } }

        /// <summary>Whether a &lt; m, i.e. a is a reduced residue.</summary>
        public bool IsReduced(uint[] a)
        {
            return Limbs256.Compare(a, _m) < 0;
        }

        /// <summary>r = a + b mod m, for reduced a, b. Aliasing allowed.</summary>
        public void Add(uint[] r, uint[] a, uint[] b)
        {
            uint carry = Limbs256.Add(r, a, b);
            if (carry != 0 || Limbs256.Compare(r, _m) >= 0) Limbs256.Sub(r, r, _m);
        }

        /// <summary>r = a - b mod m, for reduced a, b. Aliasing allowed.</summary>
        public void Sub(uint[] r, uint[] a, uint[] b)
        {
            uint borrow = Limbs256.Sub(r, a, b);
            if (borrow != 0) Limbs256.Add(r, r, _m);
        }

        /// <summary>r = a·b·R^-1 mod m (Montgomery product), for reduced a, b. r may alias a or b.</summary>
        public void Mul(uint[] r, uint[] a, uint[] b)
        {
            _multiplications++;
            uint[] t = _t;
            uint[] m = _m;
            for (int i = 0; i < 10; i++) t[i] = 0;
            for (int i = 0; i < 8; i++)
            {
                ulong bi = b[i];
                ulong c = 0;
                for (int j = 0; j < 8; j++)
                {
                    c += t[j] + a[j] * bi;
                    t[j] = (uint)c;
                    c >>= 32;
                }
                c += t[8];
                t[8] = (uint)c;
                t[9] = (uint)(c >> 32);

                ulong q = unchecked((uint)(t[0] * _m0Inv));
                c = t[0] + q * m[0];
                c >>= 32;
                for (int j = 1; j < 8; j++)
                {
                    c += t[j] + q * m[j];
                    t[j - 1] = (uint)c;
                    c >>= 32;
                }
                c += t[8];
                t[7] = (uint)c;
                t[8] = t[9] + (uint)(c >> 32);
            }
            // t < 2m: one conditional subtraction
            bool subtract = t[8] != 0;
            if (!subtract)
            {
                for (int i = 7; i >= 0; i--)
                {
                    if (t[i] != m[i])
                    {
                        subtract = t[i] > m[i];
                        break;
                    }
                    if (i == 0) subtract = true; // equal to m
                }
            }
            if (subtract)
            {
                long bw = 0;
                for (int i = 0; i < 8; i++)
                {
                    bw += (long)t[i] - m[i];
                    r[i] = (uint)bw;
                    bw >>= 32;
                }
            }
            else
            {
                for (int i = 0; i < 8; i++) r[i] = t[i];
            }
        }

        /// <summary>r = a·a·R^-1 mod m.</summary>
        public void Square(uint[] r, uint[] a)
        {
            Mul(r, a, a);
        }

        /// <summary>r = a in Montgomery form (a·R mod m), for reduced a.</summary>
        public void ToMontgomery(uint[] r, uint[] a)
        {
            Mul(r, a, _r2);
        }

        /// <summary>r = a·R^-1 mod m: from Montgomery form back to the plain value.</summary>
        public void FromMontgomery(uint[] r, uint[] a)
        {
            uint[] one = _acc;
            Limbs256.SetZero(one);
            one[0] = 1;
            Mul(r, a, one);
        }

        /// <summary>r = 1 in Montgomery form.</summary>
        public void SetOne(uint[] r)
        {
            Limbs256.Copy(_one, r);
        }

        /// <summary>r = a^-1 in Montgomery form (Fermat: a^(m-2)), for a in Montgomery form; a = 0 gives 0.
        /// r may alias a.</summary>
        public void Invert(uint[] r, uint[] a)
        {
            uint[] acc = _acc;
            Limbs256.Copy(_one, acc);
            for (int i = 255; i >= 0; i--)
            {
                Mul(acc, acc, acc);
                if (Limbs256.Bit(_exp, i) != 0) Mul(acc, acc, a);
            }
            Limbs256.Copy(acc, r);
        }
    }
}
