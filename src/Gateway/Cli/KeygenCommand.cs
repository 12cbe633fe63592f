using System.CommandLine;
using System.Security.Cryptography;

namespace IotOta.Gateway.Cli;

/// <summary>`keygen`: writes a new ECDSA P-256 signing key (PEM, PKCS#8) and its public key (PEM).</summary>
public static class KeygenCommand
{
    public static Command Create()
    {
        var output = new Option<string>("--out") { Description = "path of the private key file; the public key goes to PATH.pub", Required = true };
        var force = new Option<bool>("--force") { Description = "overwrite existing files" };
        var cmd = new Command("keygen", "Create a manifest signing key (ECDSA P-256)") { output, force };
        cmd.SetAction(parse =>
        {
            string path = parse.GetValue(output)!;
            string pub = path + ".pub";
            if (!parse.GetValue(force) && (File.Exists(path) || File.Exists(pub)))
            {
                Console.Error.WriteLine($"error: {path} or {pub} exists; use --force to overwrite");
                return 2;
            }
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            File.WriteAllText(path, key.ExportPkcs8PrivateKeyPem());
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            File.WriteAllText(pub, key.ExportSubjectPublicKeyInfoPem());
            Console.WriteLine($"private key: {path}\npublic key:  {pub}");
            return 0;
        });
        return cmd;
    }
}
