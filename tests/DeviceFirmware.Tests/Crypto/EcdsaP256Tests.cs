using System.Diagnostics;
using System.Numerics;
using System.Security.Cryptography;
using IotOta.DeviceFirmware.Crypto;
using Xunit.Abstractions;
using static IotOta.DeviceFirmware.Tests.Crypto.P256TestMath;

namespace IotOta.DeviceFirmware.Tests.Crypto;

/// <summary>The managed verifier against .NET's ECDsa (OpenSSL here) and NIST's vectors.</summary>
public class EcdsaP256Tests(ITestOutputHelper output)
{
    private static bool Verify(byte[] key, byte[] hash, byte[] sig) => new EcdsaP256().Verify(key, 0, hash, 0, sig, 0);

    private static byte[] Sha256(byte[] m) => SHA256.HashData(m);

    public static TheoryData<int> NistIndexes()
    {
        var d = new TheoryData<int>();
        for (int i = 0; i < NistP256Sha256Vectors.All.Length; i++) d.Add(i);
        return d;
    }

    [Theory]
    [MemberData(nameof(NistIndexes))]
    public void Nist_sigver_vectors_give_the_expected_result(int index)
    {
        var v = NistP256Sha256Vectors.All[index];
        byte[] key = [4, .. Hex(v.Qx), .. Hex(v.Qy)];
        byte[] sig = [.. Hex(v.R), .. Hex(v.S)];
        byte[] hash = Sha256(Hex(v.Msg));
        Assert.Equal(v.Valid, Verify(key, hash, sig));
        // the transcription is right: the platform agrees (a changed Q may be off the curve, which it refuses to load)
        bool platform;
        try
        {
            using var e = ECDsa.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, Q = new ECPoint { X = Hex(v.Qx), Y = Hex(v.Qy) } });
            platform = e.VerifyHash(hash, sig, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        }
        catch (CryptographicException)
        {
            platform = false;
        }
        Assert.Equal(v.Valid, platform);
    }

    [Fact]
    public void Thousands_of_platform_signatures_over_random_keys_and_messages_verify()
    {
        var rng = new Random(20261126);
        int verified = 0;
        for (int k = 0; k < 150; k++)
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            byte[] pub = PublicKey(key);
            for (int m = 0; m < 20; m++)
            {
                byte[] msg = new byte[rng.Next(0, 300)];
                rng.NextBytes(msg);
                byte[] hash = Sha256(msg);
                byte[] sig = key.SignHash(hash, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
                Assert.True(Verify(pub, hash, sig), $"key {k} message {m}");
                verified++;
            }
        }
        Assert.Equal(3000, verified);
    }

    [Fact]
    public void Hashes_at_or_above_n_are_reduced_before_use()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[] pub = PublicKey(key);
        foreach (BigInteger e in new[] { N, N + 1, (BigInteger.One << 256) - 1, BigInteger.Zero, N - 1 })
        {
            byte[] hash = Bytes32(e);
            byte[] sig = key.SignHash(hash, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
            Assert.True(Verify(pub, hash, sig), $"hash {e:x}");
            Assert.True(key.VerifyHash(hash, sig, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));
        }
    }

    [Fact]
    public void A_flipped_bit_in_message_r_s_or_key_fails()
    {
        var rng = new Random(5);
        for (int k = 0; k < 40; k++)
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            byte[] pub = PublicKey(key);
            byte[] msg = new byte[64];
            rng.NextBytes(msg);
            byte[] sig = key.SignData(msg, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
            Assert.True(Verify(pub, Sha256(msg), sig));

            byte[] m2 = (byte[])msg.Clone();
            m2[rng.Next(m2.Length)] ^= (byte)(1 << rng.Next(8));
            Assert.False(Verify(pub, Sha256(m2), sig), "message bit");

            byte[] r2 = (byte[])sig.Clone();
            r2[rng.Next(32)] ^= (byte)(1 << rng.Next(8));
            Assert.False(Verify(pub, Sha256(msg), r2), "r bit");

            byte[] s2 = (byte[])sig.Clone();
            s2[32 + rng.Next(32)] ^= (byte)(1 << rng.Next(8));
            Assert.False(Verify(pub, Sha256(msg), s2), "s bit");

            byte[] q2 = (byte[])pub.Clone();
            q2[1 + rng.Next(64)] ^= (byte)(1 << rng.Next(8));
            Assert.False(Verify(q2, Sha256(msg), sig), "key bit");

            using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            Assert.False(Verify(PublicKey(other), Sha256(msg), sig), "another valid key");
        }
    }

    [Fact]
    public void The_negated_s_also_verifies_as_in_the_standard()
    {
        // ECDSA as specified accepts (r, n - s) as well; the platform does too. (Malleability does not matter here:
        // the manifest's content, not its signature bytes, is what the device trusts.)
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[] hash = Sha256([1, 2, 3]);
        byte[] sig = key.SignHash(hash, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        BigInteger s = Big(sig[32..]);
        byte[] flipped = [.. sig[..32], .. Bytes32(N - s)];
        Assert.True(Verify(PublicKey(key), hash, flipped));
        Assert.True(key.VerifyHash(hash, flipped, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));
    }

    [Fact]
    public void R_or_s_outside_1_to_n_minus_1_fail()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[] pub = PublicKey(key);
        byte[] hash = Sha256([9]);
        byte[] sig = key.SignHash(hash, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        byte[] r = sig[..32], s = sig[32..];
        Assert.True(Verify(pub, hash, sig));
        BigInteger max = (BigInteger.One << 256) - 1;
        foreach (BigInteger bad in new[] { BigInteger.Zero, N, N + 1, max })
        {
            Assert.False(Verify(pub, hash, [.. Bytes32(bad), .. s]), $"r = {bad:x}");
            Assert.False(Verify(pub, hash, [.. r, .. Bytes32(bad)]), $"s = {bad:x}");
        }
        // r + n and s + n name the same residues; when they fit in 256 bits they must still be refused
        BigInteger rv = Big(r), sv = Big(s);
        if (rv + N <= max) Assert.False(Verify(pub, hash, [.. Bytes32(rv + N), .. s]));
        if (sv + N <= max) Assert.False(Verify(pub, hash, [.. r, .. Bytes32(sv + N)]));
        Assert.False(Verify(pub, hash, new byte[64]));
    }

    [Fact]
    public void A_result_point_whose_x_is_at_least_n_is_compared_modulo_n()
    {
        // R.x in [n, p) has probability ~2^-128 for a real signature, so build one: pick the point R with x = n + t
        // first, then any e and s, and solve u1·G + u2·Q = R for the public key Q = u2^-1 (R - u1·G). The signature
        // is then (r = t, s). Point arithmetic here is the BigInteger reference (P256TestMath), not the code under test.
        BigInteger b = Value(P256Constants.B);
        byte[] hash = Sha256([1, 9, 8, 4]);
        BigInteger e = Big(hash) % N;
        BigInteger s = 0xC0FFEE;
        int built = 0;
        for (BigInteger t = 1; built < 3; t++)
        {
            BigInteger x = N + t;
            BigInteger rhs = Mod(x * x * x - 3 * x + b, P);
            BigInteger y = BigInteger.ModPow(rhs, (P + 1) / 4, P);
            if (y * y % P != rhs) continue;
            BigInteger w = BigInteger.ModPow(s, N - 2, N);
            BigInteger u1 = e * w % N, u2 = t * w % N;
            var minusU1G = RefMultiply(N - u1, (Value(P256Constants.Gx), Value(P256Constants.Gy)));
            var q = RefMultiply(BigInteger.ModPow(u2, N - 2, N), RefAdd((x, y), minusU1G))!.Value;
            byte[] key = [4, .. Bytes32(q.X), .. Bytes32(q.Y)];
            byte[] sig = [.. Bytes32(t), .. Bytes32(s)];
            Assert.True(Verify(key, hash, sig), $"t = {t}");
            using (var platform = ECDsa.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, Q = new ECPoint { X = Bytes32(q.X), Y = Bytes32(q.Y) } }))
            {
                Assert.True(platform.VerifyHash(hash, sig, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));
            }
            // r = R.x itself (≥ n) is outside [1, n-1]: refused
            Assert.False(Verify(key, hash, [.. Bytes32(x), .. Bytes32(s)]));
            built++;
        }
    }

    [Fact]
    public void Keys_that_are_not_uncompressed_points_on_the_curve_fail()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[] pub = PublicKey(key);
        byte[] hash = Sha256([4, 2]);
        byte[] sig = key.SignHash(hash, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        Assert.True(Verify(pub, hash, sig));

        byte[] compressedTag = (byte[])pub.Clone();
        compressedTag[0] = 2;
        Assert.False(Verify(compressedTag, hash, sig));
        Assert.False(Verify(new byte[65], hash, sig));                    // all zero (and no 0x04)
        byte[] zeroPoint = new byte[65];
        zeroPoint[0] = 4;
        Assert.False(Verify(zeroPoint, hash, sig));                       // (0, 0) is not on the curve
        byte[] offCurve = (byte[])pub.Clone();
        offCurve[64] ^= 1;                                                 // y + 1 or y - 1
        Assert.False(Verify(offCurve, hash, sig));
        BigInteger y = Big(pub[33..]);
        byte[] unreduced = [.. pub[..33], .. Bytes32(y + P <= (BigInteger.One << 256) - 1 ? y + P : y)];
        if (y + P <= (BigInteger.One << 256) - 1) Assert.False(Verify(unreduced, hash, sig));
        Assert.False(new EcdsaP256().IsValidPublicKey(offCurve, 0));
        Assert.True(new EcdsaP256().IsValidPublicKey(pub, 0));
    }

    [Fact]
    public void Null_or_short_inputs_fail_without_throwing()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[] pub = PublicKey(key);
        byte[] hash = Sha256([1]);
        byte[] sig = key.SignHash(hash, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        var v = new EcdsaP256();
        Assert.False(v.Verify(null!, 0, hash, 0, sig, 0));
        Assert.False(v.Verify(pub, 0, null!, 0, sig, 0));
        Assert.False(v.Verify(pub, 0, hash, 0, null!, 0));
        Assert.False(v.Verify(pub[..64], 0, hash, 0, sig, 0));
        Assert.False(v.Verify(pub, 1, hash, 0, sig, 0));
        Assert.False(v.Verify(pub, -1, hash, 0, sig, 0));
        Assert.False(v.Verify(pub, 0, hash, 1, sig, 0));
        Assert.False(v.Verify(pub, 0, hash[..31], 0, sig, 0));
        Assert.False(v.Verify(pub, 0, hash, 0, sig, 1));
        Assert.False(v.Verify(pub, 0, hash, 0, sig, int.MaxValue));
        Assert.False(v.IsValidPublicKey(null!, 0));
        Assert.False(v.IsValidPublicKey(pub, 1));
        // inputs at offsets inside larger buffers
        byte[] bigKey = [0, 0, .. pub, 0];
        byte[] bigHash = [0, .. hash, 0, 0];
        byte[] bigSig = [0, 0, 0, .. sig];
        Assert.True(new EcdsaP256().Verify(bigKey, 2, bigHash, 1, bigSig, 3));
    }

    [Fact]
    public void Cost_per_verification_is_bounded_and_reported()
    {
        // Figures for docs/protocol.md: field multiplications, scalar multiplications, bytes allocated, time on .NET.
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[] pub = PublicKey(key);
        var rng = new Random(99);
        int runs = 200;
        var hashes = new byte[runs][];
        var sigs = new byte[runs][];
        for (int i = 0; i < runs; i++)
        {
            hashes[i] = new byte[32];
            rng.NextBytes(hashes[i]);
            sigs[i] = key.SignHash(hashes[i], DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        }
        int minF = int.MaxValue, maxF = 0, minS = int.MaxValue, maxS = 0;
        long minAlloc = long.MaxValue, maxAlloc = 0;
        // warm-up: let the JIT's tiering replace the first, unoptimised code (it compiles in the background)
        for (int i = 0; i < 600; i++) Assert.True(new EcdsaP256().Verify(pub, 0, hashes[i % runs], 0, sigs[i % runs], 0));
        Thread.Sleep(200);
        var sw = Stopwatch.StartNew();
        TimeSpan cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        for (int i = 0; i < runs; i++)
        {
            long a0 = GC.GetAllocatedBytesForCurrentThread();
            var v = new EcdsaP256();
            Assert.True(v.Verify(pub, 0, hashes[i], 0, sigs[i], 0));
            long alloc = GC.GetAllocatedBytesForCurrentThread() - a0;
            minAlloc = Math.Min(minAlloc, alloc);
            maxAlloc = Math.Max(maxAlloc, alloc);
            minF = Math.Min(minF, v.FieldMultiplications);
            maxF = Math.Max(maxF, v.FieldMultiplications);
            minS = Math.Min(minS, v.ScalarMultiplications);
            maxS = Math.Max(maxS, v.ScalarMultiplications);
        }
        sw.Stop();
        double cpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds / runs;
        double ms = sw.Elapsed.TotalMilliseconds / runs;
        output.WriteLine($"ECDSA P-256 managed verify: field mults {minF}..{maxF}, scalar mults {minS}..{maxS}, " +
                         $"allocated {minAlloc}..{maxAlloc} bytes, {ms:F3} ms wall / {cpuMs:F3} ms process CPU per verification on .NET ({runs} runs)");
        // 255 doublings (8) + about 192 mixed additions (11) + 2 field inversions (~384 each) + small change
        Assert.InRange(minF, 3500, 6000);
        Assert.InRange(maxF, 3500, 6000);
        Assert.InRange(maxS, 300, 500);   // one inversion mod n and two products
        Assert.InRange(maxAlloc, 1, 4096); // the whole working set, allocated once per verification
        Assert.Equal(minAlloc, maxAlloc);  // nothing depends on the input: no allocation inside the loops

        // the ISignatureVerifier as the device calls it: hash (managed SHA-256) + verify, over a 1,000-chunk manifest
        byte[] manifestLike = new byte[61 + 32 * 1000];
        rng.NextBytes(manifestLike);
        byte[] msig = key.SignData(manifestLike, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        var device = new EcdsaP256Verifier(1, pub);
        Assert.True(device.Verify(1, manifestLike, 0, manifestLike.Length, msig, 0));
        long d0 = GC.GetAllocatedBytesForCurrentThread();
        Assert.True(device.Verify(1, manifestLike, 0, manifestLike.Length, msig, 0));
        long deviceAlloc = GC.GetAllocatedBytesForCurrentThread() - d0;
        output.WriteLine($"EcdsaP256Verifier.Verify over {manifestLike.Length} bytes: allocated {deviceAlloc} bytes");
        Assert.InRange(deviceAlloc, maxAlloc, maxAlloc + 1024); // the hash state and digest on top of the ECDSA state
    }
}
