using System.Numerics;
using System.Security.Cryptography;
using IotOta.DeviceFirmware.Crypto;

namespace IotOta.DeviceFirmware.Tests.Crypto;

/// <summary>Reference arithmetic for the P-256 tests: BigInteger and .NET's own ECDsa, never the code under test.</summary>
internal static class P256TestMath
{
    public static readonly BigInteger P = Big("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff");
    public static readonly BigInteger N = Big("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
    public static readonly BigInteger R = BigInteger.One << 256;

    public static BigInteger Big(string hex) => BigInteger.Parse("0" + hex, System.Globalization.NumberStyles.HexNumber);

    public static BigInteger Big(byte[] bigEndian) => new(bigEndian, isUnsigned: true, isBigEndian: true);

    public static uint[] Limbs(BigInteger v)
    {
        var r = new uint[8];
        for (int i = 0; i < 8; i++) r[i] = (uint)((v >> (32 * i)) & uint.MaxValue);
        return r;
    }

    public static BigInteger Value(uint[] limbs)
    {
        BigInteger v = BigInteger.Zero;
        for (int i = 7; i >= 0; i--) v = (v << 32) | limbs[i];
        return v;
    }

    public static byte[] Bytes32(BigInteger v)
    {
        byte[] raw = v.ToByteArray(isUnsigned: true, isBigEndian: true);
        if (raw.Length > 32) throw new ArgumentOutOfRangeException(nameof(v));
        var r = new byte[32];
        raw.CopyTo(r, 32 - raw.Length);
        return r;
    }

    public static BigInteger Random(Random rng, BigInteger below)
    {
        byte[] b = new byte[33];
        rng.NextBytes(b);
        b[32] = 0;
        return new BigInteger(b, isUnsigned: true) % below;
    }

    public static BigInteger Mod(BigInteger v, BigInteger m)
    {
        BigInteger r = v % m;
        return r.Sign < 0 ? r + m : r;
    }

    /// <summary>The 65-byte uncompressed public key (0x04 || X || Y) of an ECDsa key.</summary>
    public static byte[] PublicKey(ECDsa key)
    {
        ECParameters p = key.ExportParameters(false);
        var r = new byte[65];
        r[0] = 4;
        p.Q.X!.CopyTo(r, 1);
        p.Q.Y!.CopyTo(r, 33);
        return r;
    }

    /// <summary>A P-256 key with private scalar d (1 ≤ d &lt; n), from .NET (which computes Q = d·G itself).</summary>
    public static ECDsa KeyWithScalar(BigInteger d)
        => ECDsa.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, D = Bytes32(d) });

    /// <summary>Reference affine addition (null = the point at infinity).</summary>
    public static (BigInteger X, BigInteger Y)? RefAdd((BigInteger X, BigInteger Y)? a, (BigInteger X, BigInteger Y)? b)
    {
        if (a == null) return b;
        if (b == null) return a;
        var (x1, y1) = a.Value;
        var (x2, y2) = b.Value;
        BigInteger l;
        if (x1 == x2)
        {
            if (Mod(y1 + y2, P) == 0) return null;
            l = Mod(3 * x1 * x1 - 3, P) * BigInteger.ModPow(2 * y1, P - 2, P) % P;
        }
        else
        {
            l = Mod(y2 - y1, P) * BigInteger.ModPow(Mod(x2 - x1, P), P - 2, P) % P;
        }
        BigInteger x3 = Mod(l * l - x1 - x2, P);
        return (x3, Mod(l * (x1 - x3) - y1, P));
    }

    /// <summary>Reference k·a by double-and-add.</summary>
    public static (BigInteger X, BigInteger Y)? RefMultiply(BigInteger k, (BigInteger X, BigInteger Y)? a)
    {
        (BigInteger X, BigInteger Y)? acc = null;
        for (int i = 255; i >= 0; i--)
        {
            acc = RefAdd(acc, acc);
            if (((k >> i) & 1) == 1) acc = RefAdd(acc, a);
        }
        return acc;
    }

    public static byte[] Hex(string hex) => Convert.FromHexString(hex);
}
