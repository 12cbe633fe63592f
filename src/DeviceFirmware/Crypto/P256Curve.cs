namespace IotOta.DeviceFirmware.Crypto
{
    /// <summary>
    /// Point arithmetic on P-256 (y^2 = x^3 - 3x + b over GF(p)) in Jacobian coordinates, with a field
    /// <see cref="P256Modulus"/> in Montgomery form. Doubling is dbl-2001-b (3M + 5S, uses a = -3); addition adds
    /// an affine point to a Jacobian one (8M + 3S, Hankerson–Menezes–Vanstone, Guide to ECC, Alg. 3.22) and handles
    /// the special cases (either operand at infinity, equal points, opposite points). Its temporaries are allocated
    /// once, by the constructor; no method allocates. Not thread-safe.
    /// </summary>
    public sealed class P256Curve
    {
        private readonly P256Modulus _f;
        private readonly uint[] _b = new uint[8];
        private readonly uint[] _one = new uint[8];
        private readonly uint[] _t1 = new uint[8];
        private readonly uint[] _t2 = new uint[8];
        private readonly uint[] _t3 = new uint[8];
        private readonly uint[] _t4 = new uint[8];
        private readonly uint[] _t5 = new uint[8];

        public P256Curve(P256Modulus field)
        {
            _f = field;
            field.ToMontgomery(_b, P256Constants.B);
            field.SetOne(_one);
        }

        public P256Modulus Field { get { return _f; } }

        /// <summary>Sets p to the affine point (x, y) given as plain field elements; false (p untouched) when a
        /// coordinate is not below p or the point is not on the curve.</summary>
        public bool TrySetAffine(P256Point p, uint[] x, uint[] y)
        {
            if (!_f.IsReduced(x) || !_f.IsReduced(y)) return false;
            uint[] xm = _t4, ym = _t5;
            _f.ToMontgomery(xm, x);
            _f.ToMontgomery(ym, y);
            if (!IsOnCurve(xm, ym)) return false;
            Limbs256.Copy(xm, p.X);
            Limbs256.Copy(ym, p.Y);
            Limbs256.Copy(_one, p.Z);
            return true;
        }

        /// <summary>Whether y^2 = x^3 - 3x + b, for x, y in Montgomery form (2S + 1M).</summary>
        public bool IsOnCurve(uint[] x, uint[] y)
        {
            uint[] lhs = _t1, rhs = _t2;
            _f.Square(lhs, y);
            _f.Square(rhs, x);
            _f.Sub(rhs, rhs, _one);
            _f.Sub(rhs, rhs, _one);
            _f.Sub(rhs, rhs, _one);     // x^2 - 3
            _f.Mul(rhs, rhs, x);        // x^3 - 3x
            _f.Add(rhs, rhs, _b);
            return Limbs256.Compare(lhs, rhs) == 0;
        }

        /// <summary>p = 2p (dbl-2001-b). The point at infinity stays there (Z stays 0).</summary>
        public void Double(P256Point p)
        {
            P256Modulus f = _f;
            uint[] delta = _t1, gamma = _t2, beta = _t3, alpha = _t4, t = _t5;
            f.Square(delta, p.Z);
            f.Square(gamma, p.Y);
            f.Mul(beta, p.X, gamma);
            f.Sub(t, p.X, delta);
            f.Add(alpha, p.X, delta);
            f.Mul(alpha, alpha, t);
            f.Add(t, alpha, alpha);
            f.Add(alpha, alpha, t);              // alpha = 3(X - delta)(X + delta)
            // Z3 = (Y + Z)^2 - gamma - delta
            f.Add(t, p.Y, p.Z);
            f.Square(p.Z, t);
            f.Sub(p.Z, p.Z, gamma);
            f.Sub(p.Z, p.Z, delta);
            // X3 = alpha^2 - 8 beta
            f.Add(beta, beta, beta);
            f.Add(beta, beta, beta);             // beta = 4 beta
            f.Square(p.X, alpha);
            f.Add(t, beta, beta);
            f.Sub(p.X, p.X, t);
            // Y3 = alpha (4 beta - X3) - 8 gamma^2
            f.Sub(beta, beta, p.X);
            f.Mul(beta, alpha, beta);
            f.Square(gamma, gamma);
            f.Add(gamma, gamma, gamma);
            f.Add(gamma, gamma, gamma);
            f.Add(gamma, gamma, gamma);
            f.Sub(p.Y, beta, gamma);
        }

        /// <summary>p = p + q for q affine (Z = one) or at infinity (Z = 0).</summary>
        public void AddAffine(P256Point p, P256Point q)
        {
            if (q.IsInfinity) return;
            if (p.IsInfinity)
            {
                p.CopyFrom(q);
                return;
            }
            P256Modulus f = _f;
            uint[] t1 = _t1, t2 = _t2, t3 = _t3, t4 = _t4;
            f.Square(t1, p.Z);              // Z1^2
            f.Mul(t2, t1, p.Z);             // Z1^3
            f.Mul(t1, t1, q.X);             // U2 = X2 Z1^2
            f.Mul(t2, t2, q.Y);             // S2 = Y2 Z1^3
            f.Sub(t1, t1, p.X);             // H = U2 - X1
            f.Sub(t2, t2, p.Y);             // R = S2 - Y1
            if (Limbs256.IsZero(t1))
            {
                if (Limbs256.IsZero(t2)) Double(p);  // p == q
                else p.SetInfinity();                 // p == -q
                return;
            }
            f.Mul(p.Z, p.Z, t1);            // Z3 = Z1 H
            f.Square(t3, t1);               // H^2
            f.Mul(t4, t3, t1);              // H^3
            f.Mul(t3, t3, p.X);             // X1 H^2
            f.Add(t1, t3, t3);              // 2 X1 H^2
            f.Square(p.X, t2);
            f.Sub(p.X, p.X, t1);
            f.Sub(p.X, p.X, t4);            // X3 = R^2 - 2 X1 H^2 - H^3
            f.Sub(t3, t3, p.X);
            f.Mul(t3, t3, t2);              // R (X1 H^2 - X3)
            f.Mul(t4, t4, p.Y);             // Y1 H^3
            f.Sub(p.Y, t3, t4);
        }

        /// <summary>Makes p affine (Z = one) with one field inversion; infinity stays infinity.</summary>
        public void Normalize(P256Point p)
        {
            if (p.IsInfinity) return;
            uint[] zInv = _t1, zInv2 = _t2;
            _f.Invert(zInv, p.Z);
            _f.Square(zInv2, zInv);
            _f.Mul(p.X, p.X, zInv2);
            _f.Mul(zInv2, zInv2, zInv);
            _f.Mul(p.Y, p.Y, zInv2);
            Limbs256.Copy(_one, p.Z);
        }
    }
}
