using System.Diagnostics;
using IotOta.Gateway.Security;

namespace IotOta.Gateway.Core.Tests.Security;

public class PasswordHashTests
{
    [Fact]
    public void A_hash_verifies_its_password_only_and_is_salted()
    {
        string a = PasswordHash.Create("correct horse");
        string b = PasswordHash.Create("correct horse");
        Assert.StartsWith("$7$101$", a);
        Assert.NotEqual(a, b); // different salt
        Assert.True(PasswordHash.Verify("correct horse", a));
        Assert.True(PasswordHash.Verify("correct horse", b));
        Assert.False(PasswordHash.Verify("correct horsE", a));
        Assert.False(PasswordHash.Verify("", a));
        Assert.False(PasswordHash.Verify(null, a));
        Assert.DoesNotContain("correct horse", a);
    }

    [Theory]
    [InlineData("")]
    [InlineData("plain")]
    [InlineData("$6$abc$def")]
    [InlineData("$7$x$AAAA$AAAA")]
    [InlineData("$7$101$!!!$AAAA")]
    [InlineData("$7$101$AAAAAAAAAAAAAAAA$AAAA")]
    public void Malformed_hashes_never_verify(string encoded) => Assert.False(PasswordHash.Verify("x", encoded));

    [Fact]
    public void Verifies_a_hash_written_by_mosquitto_passwd()
    {
        const string tool = "/usr/bin/mosquitto_passwd";
        if (!File.Exists(tool)) throw new InvalidOperationException("mosquitto_passwd not installed: run scripts/test.sh (it installs mosquitto)");
        string file = Path.Combine(Path.GetTempPath(), "iotota-pw-" + Guid.NewGuid().ToString("N"));
        try
        {
            var psi = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "-c", "-b", file, "alice", "s3cret pass" }) psi.ArgumentList.Add(a);
            using (var p = Process.Start(psi)!)
            {
                p.WaitForExit(10_000);
                Assert.Equal(0, p.ExitCode);
            }
            string line = File.ReadAllLines(file).Single();
            string hash = line["alice:".Length..];
            Assert.True(PasswordHash.Verify("s3cret pass", hash), line);
            Assert.False(PasswordHash.Verify("s3cret pas", hash));
        }
        finally
        {
            File.Delete(file);
        }
    }
}
