using System.Numerics;
using IotOta.DeviceFirmware.Crypto;
using static IotOta.DeviceFirmware.Tests.Crypto.P256TestMath;

namespace IotOta.DeviceFirmware.Tests.Crypto;

public class P256ModulusTests
{
    public static TheoryData<string> Moduli => new() { "p", "n" };

    private static (P256Modulus m, BigInteger value) Make(string which)
        => which == "p" ? (P256Modulus.Field(), P) : (P256Modulus.Order(), N);

    private static IEnumerable<BigInteger> Samples(BigInteger m, int seed, int count)
    {
        yield return BigInteger.Zero;
        yield return BigInteger.One;
        yield return m - 1;
        yield return m - 2;
        yield return (BigInteger.One << 255) % m;
        yield return (BigInteger.One << 224) - 1;
        var rng = new Random(seed);
        for (int i = 0; i < count; i++) yield return Random(rng, m);
    }

    [Theory]
    [MemberData(nameof(Moduli))]
    public void Negated_inverse_constant_and_montgomery_one_are_right(string which)
    {
        var (f, m) = Make(which);
        uint m0 = (uint)(m & uint.MaxValue);
        uint inv = which == "p" ? 1u : 0xEE00BC4Fu;
        Assert.Equal(uint.MaxValue, unchecked(m0 * inv)); // m0 · (-m^-1) ≡ -1 mod 2^32
        var one = new uint[8];
        f.SetOne(one);
        Assert.Equal(R % m, Value(one));
        Assert.Equal(m, Value(f.Modulus));
    }

    [Theory]
    [MemberData(nameof(Moduli))]
    public void Montgomery_product_is_a_b_over_R(string which)
    {
        var (f, m) = Make(which);
        BigInteger rInv = BigInteger.ModPow(R, m - 2, m);
        var xs = Samples(m, 1, 300).ToArray();
        var ys = Samples(m, 2, 300).Reverse().ToArray();
        var r = new uint[8];
        for (int i = 0; i < xs.Length; i++)
        {
            f.Mul(r, Limbs(xs[i]), Limbs(ys[i]));
            Assert.Equal(xs[i] * ys[i] * rInv % m, Value(r));
        }
        Assert.Equal(xs.Length, f.Multiplications); // the counter counts every product
    }

    [Theory]
    [MemberData(nameof(Moduli))]
    public void Product_may_alias_its_operands(string which)
    {
        var (f, m) = Make(which);
        BigInteger rInv = BigInteger.ModPow(R, m - 2, m);
        var rng = new Random(3);
        for (int i = 0; i < 50; i++)
        {
            BigInteger a = Random(rng, m), b = Random(rng, m);
            uint[] la = Limbs(a), lb = Limbs(b);
            f.Mul(la, la, lb);
            Assert.Equal(a * b * rInv % m, Value(la));
            uint[] sq = Limbs(b);
            f.Square(sq, sq);
            Assert.Equal(b * b * rInv % m, Value(sq));
        }
    }

    [Theory]
    [MemberData(nameof(Moduli))]
    public void Add_and_sub_wrap_modulo_m(string which)
    {
        var (f, m) = Make(which);
        var xs = Samples(m, 4, 300).ToArray();
        var ys = Samples(m, 5, 300).Reverse().ToArray();
        var r = new uint[8];
        for (int i = 0; i < xs.Length; i++)
        {
            f.Add(r, Limbs(xs[i]), Limbs(ys[i]));
            Assert.Equal((xs[i] + ys[i]) % m, Value(r));
            f.Sub(r, Limbs(xs[i]), Limbs(ys[i]));
            Assert.Equal(Mod(xs[i] - ys[i], m), Value(r));
        }
    }

    [Theory]
    [MemberData(nameof(Moduli))]
    public void To_and_from_montgomery_round_trip(string which)
    {
        var (f, m) = Make(which);
        var mont = new uint[8];
        var back = new uint[8];
        foreach (BigInteger a in Samples(m, 6, 100))
        {
            f.ToMontgomery(mont, Limbs(a));
            Assert.Equal(a * R % m, Value(mont));
            f.FromMontgomery(back, mont);
            Assert.Equal(a, Value(back));
        }
    }

    [Theory]
    [MemberData(nameof(Moduli))]
    public void Invert_gives_the_modular_inverse(string which)
    {
        var (f, m) = Make(which);
        var rng = new Random(7);
        var mont = new uint[8];
        var plain = new uint[8];
        for (int i = 0; i < 40; i++)
        {
            BigInteger a = i == 0 ? BigInteger.One : i == 1 ? m - 1 : 1 + Random(rng, m - 1);
            f.ToMontgomery(mont, Limbs(a));
            f.Invert(mont, mont);
            f.FromMontgomery(plain, mont);
            Assert.Equal(BigInteger.ModPow(a, m - 2, m), Value(plain));
            Assert.Equal(BigInteger.One, a * Value(plain) % m);
        }
    }

    [Fact]
    public void Reduced_means_below_the_modulus()
    {
        var f = P256Modulus.Field();
        Assert.True(f.IsReduced(Limbs(P - 1)));
        Assert.False(f.IsReduced(Limbs(P)));
        Assert.False(f.IsReduced(Limbs(P + 1)));
        Assert.True(f.IsReduced(Limbs(BigInteger.Zero)));
    }
}
