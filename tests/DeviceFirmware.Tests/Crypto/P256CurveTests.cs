using System.Numerics;
using System.Security.Cryptography;
using IotOta.DeviceFirmware.Crypto;
using static IotOta.DeviceFirmware.Tests.Crypto.P256TestMath;

namespace IotOta.DeviceFirmware.Tests.Crypto;

public class P256CurveTests
{
    [Fact]
    public void Domain_parameters_match_the_platforms_nistP256()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        ECParameters e = key.ExportExplicitParameters(false);
        Assert.Equal(Big(e.Curve.Prime!), Value(P256Constants.P));
        Assert.Equal(Big(e.Curve.Order!), Value(P256Constants.N));
        Assert.Equal(Big(e.Curve.B!), Value(P256Constants.B));
        Assert.Equal(Mod(-3, P), Big(e.Curve.A!));
        Assert.Equal(Big(e.Curve.G.X!), Value(P256Constants.Gx));
        Assert.Equal(Big(e.Curve.G.Y!), Value(P256Constants.Gy));
    }

    private sealed class Ctx
    {
        public readonly P256Modulus F = P256Modulus.Field();
        public readonly P256Curve C;
        public Ctx() { C = new P256Curve(F); }

        public P256Point Affine(BigInteger x, BigInteger y)
        {
            var p = new P256Point();
            Assert.True(C.TrySetAffine(p, Limbs(x), Limbs(y)), "point should be on the curve");
            return p;
        }

        public (BigInteger x, BigInteger y) Plain(P256Point p)
        {
            Assert.False(p.IsInfinity);
            var q = new P256Point();
            q.CopyFrom(p);
            C.Normalize(q);
            var x = new uint[8];
            var y = new uint[8];
            F.FromMontgomery(x, q.X);
            F.FromMontgomery(y, q.Y);
            return (Value(x), Value(y));
        }

        /// <summary>k·P by plain double-and-add over the curve's own Double/AddAffine.</summary>
        public P256Point Multiply(BigInteger k, P256Point affine)
        {
            var acc = new P256Point();
            acc.SetInfinity();
            for (int i = 255; i >= 0; i--)
            {
                C.Double(acc);
                if (((k >> i) & 1) == 1) C.AddAffine(acc, affine);
            }
            return acc;
        }
    }

    private static readonly BigInteger Gx = Value(P256Constants.Gx), Gy = Value(P256Constants.Gy);

    [Fact]
    public void Scalar_multiples_of_G_match_the_platforms_public_keys()
    {
        var ctx = new Ctx();
        P256Point g = ctx.Affine(Gx, Gy);
        var rng = new Random(11);
        var scalars = new List<BigInteger> { 1, 2, 3, N - 1, N - 2, (N + 1) / 2 };
        for (int i = 0; i < 25; i++) scalars.Add(1 + Random(rng, N - 1));
        foreach (BigInteger d in scalars)
        {
            using ECDsa key = KeyWithScalar(d);
            ECParameters p = key.ExportParameters(false);
            var (x, y) = ctx.Plain(ctx.Multiply(d, g));
            Assert.Equal(Big(p.Q.X!), x);
            Assert.Equal(Big(p.Q.Y!), y);
        }
    }

    [Fact]
    public void N_times_G_is_the_point_at_infinity()
    {
        var ctx = new Ctx();
        P256Point g = ctx.Affine(Gx, Gy);
        Assert.True(ctx.Multiply(N, g).IsInfinity);
        Assert.False(ctx.Multiply(N - 1, g).IsInfinity);
    }

    [Fact]
    public void Adding_a_point_to_itself_doubles_it_and_to_its_negative_gives_infinity()
    {
        var ctx = new Ctx();
        P256Point g = ctx.Affine(Gx, Gy);
        var sum = new P256Point();
        sum.CopyFrom(g);
        ctx.C.AddAffine(sum, g);                          // G + G through the addition path
        var dbl = new P256Point();
        dbl.CopyFrom(g);
        ctx.C.Double(dbl);
        Assert.Equal(ctx.Plain(dbl), ctx.Plain(sum));

        P256Point minusG = ctx.Affine(Gx, P - Gy);
        var zero = new P256Point();
        zero.CopyFrom(g);
        ctx.C.AddAffine(zero, minusG);
        Assert.True(zero.IsInfinity);

        // a Jacobian (Z != 1) 3G plus affine 3G: the equal-point case must be seen through the projective form
        P256Point threeG = ctx.Multiply(3, g);
        var (tx, ty) = ctx.Plain(threeG);
        ctx.C.AddAffine(threeG, ctx.Affine(tx, ty));
        Assert.Equal(ctx.Plain(ctx.Multiply(6, g)), ctx.Plain(threeG));
    }

    [Fact]
    public void Infinity_is_the_identity_for_addition()
    {
        var ctx = new Ctx();
        P256Point g = ctx.Affine(Gx, Gy);
        var acc = new P256Point();
        acc.SetInfinity();
        ctx.C.AddAffine(acc, g);
        Assert.Equal((Gx, Gy), ctx.Plain(acc));
        var inf = new P256Point();
        inf.SetInfinity();
        ctx.C.AddAffine(acc, inf);
        Assert.Equal((Gx, Gy), ctx.Plain(acc));
        ctx.C.Double(inf);
        Assert.True(inf.IsInfinity);
    }

    [Fact]
    public void Points_off_the_curve_or_with_unreduced_coordinates_are_refused()
    {
        var ctx = new Ctx();
        var p = new P256Point();
        Assert.False(ctx.C.TrySetAffine(p, Limbs(Gx), Limbs(Gy + 1)));
        Assert.False(ctx.C.TrySetAffine(p, Limbs(Gx + 1), Limbs(Gy)));
        Assert.False(ctx.C.TrySetAffine(p, Limbs(BigInteger.Zero), Limbs(BigInteger.Zero)));
        Assert.True(p.IsInfinity);                                           // refused: left untouched
        // a point with a small x, so that x + p still fits 256 bits: the same residue, but not reduced
        BigInteger b = Value(P256Constants.B);
        BigInteger sx = 0, sy = 0;
        for (BigInteger x = 1; sy == 0; x++)
        {
            BigInteger rhs = Mod(x * x * x - 3 * x + b, P);
            BigInteger y = BigInteger.ModPow(rhs, (P + 1) / 4, P);   // p = 3 mod 4
            if (y * y % P == rhs) { sx = x; sy = y; }
        }
        Assert.True(ctx.C.TrySetAffine(p, Limbs(sx), Limbs(sy)));
        Assert.False(ctx.C.TrySetAffine(new P256Point(), Limbs(sx + P), Limbs(sy)));
        Assert.True(ctx.C.TrySetAffine(p, Limbs(Gx), Limbs(P - Gy)));       // -G is on the curve
    }
}
