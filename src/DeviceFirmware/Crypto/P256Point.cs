namespace IotOta.DeviceFirmware.Crypto
{
    /// <summary>
    /// A P-256 point in Jacobian coordinates (x = X/Z^2, y = Y/Z^3), each coordinate <c>uint[8]</c> limbs in the
    /// field's Montgomery form. Z = 0 is the point at infinity. An affine point is one with Z = 1 (Montgomery one).
    /// Holds only its three coordinates; the arithmetic lives in <see cref="P256Curve"/>.
    /// </summary>
    public sealed class P256Point
    {
        public readonly uint[] X = new uint[8];
        public readonly uint[] Y = new uint[8];
        public readonly uint[] Z = new uint[8];

        public bool IsInfinity { get { return Limbs256.IsZero(Z); } }

        public void SetInfinity()
        {
            Limbs256.SetZero(X);
            Limbs256.SetZero(Y);
            Limbs256.SetZero(Z);
        }

        public void CopyFrom(P256Point other)
        {
            Limbs256.Copy(other.X, X);
            Limbs256.Copy(other.Y, Y);
            Limbs256.Copy(other.Z, Z);
        }
    }
}
