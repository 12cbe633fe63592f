using System.Security.Cryptography;
using System.Text;

namespace IotOta.Gateway.Security;

/// <summary>
/// Salted password hashes in Mosquitto 2's password-file format (what <c>mosquitto_passwd</c> writes by default):
/// <c>$7$iterations$base64(salt)$base64(PBKDF2-HMAC-SHA512(password, salt, iterations, 64 bytes))</c>, 12-byte salt.
/// The same string serves the embedded broker's check, so only the hash is ever stored.
/// </summary>
public static class PasswordHash
{
    public const int DefaultIterations = 101; // mosquitto_passwd's default
    public const int SaltBytes = 12;
    public const int HashBytes = 64;

    public static string Create(string password, int iterations = DefaultIterations)
    {
        ArgumentNullException.ThrowIfNull(password);
        if (iterations < 1) throw new ArgumentOutOfRangeException(nameof(iterations));
        byte[] salt = RandomNumberGenerator.GetBytes(SaltBytes);
        byte[] hash = Derive(password, salt, iterations);
        return $"$7${iterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}";
    }

    /// <summary>True when <paramref name="password"/> matches <paramref name="encoded"/>; false for a wrong password
    /// or a string that is not a $7$ hash. Constant time in the hash comparison.</summary>
    public static bool Verify(string? password, string encoded)
    {
        if (password == null || encoded == null) return false;
        string[] parts = encoded.Split('$');
        // "", "7", iterations, salt, hash
        if (parts.Length != 5 || parts[0].Length != 0 || parts[1] != "7") return false;
        if (!int.TryParse(parts[2], out int iterations) || iterations < 1 || iterations > 1_000_000) return false;
        byte[] salt, expected;
        try
        {
            salt = Convert.FromBase64String(parts[3]);
            expected = Convert.FromBase64String(parts[4]);
        }
        catch (FormatException)
        {
            return false;
        }
        if (expected.Length != HashBytes || salt.Length == 0) return false;
        return CryptographicOperations.FixedTimeEquals(Derive(password, salt, iterations), expected);
    }

    private static byte[] Derive(string password, byte[] salt, int iterations) =>
        Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA512, HashBytes);
}
