using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Configuration;

namespace IotOta.Gateway.Mqtt;

/// <summary>
/// Binds <see cref="MqttBrokerSettings"/> from the section <c>IotOta:Mqtt</c> of appsettings.json and the environment
/// (<c>IotOta__Mqtt__Endpoints</c>, <c>…__Username</c>, <c>…__Password</c> or <c>…__PasswordFile</c>, <c>…__ClientId</c>,
/// <c>…__Tls__CaFile</c>, <c>…__Tls__ClientCertificateFile</c>, <c>…__Tls__ClientKeyFile</c>, <c>…__Tls__TargetHost</c>,
/// <c>…__Devices__UsernamePattern</c>, <c>…__Devices__PasswordPattern</c>, <c>…__Devices__CredentialsFile</c>,
/// <c>…__Devices__Spread</c>). The command line is never read for these: a password there would sit in the shell history
/// and the process list. A <c>--broker</c> option, when given, replaces the configured endpoints.
/// </summary>
public static class MqttBrokerConfiguration
{
    public const string Section = "IotOta:Mqtt";

    /// <summary>appsettings.json next to the program (optional) and the environment.</summary>
    public static IConfiguration Default() =>
        new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true)
            .AddEnvironmentVariables()
            .Build();

    /// <summary>Settings from <see cref="Default"/> with <paramref name="brokerOption"/> (HOST:PORT[,HOST:PORT…]) as the
    /// endpoints when given.</summary>
    public static MqttBrokerSettings Load(string? brokerOption) => Bind(Default(), brokerOption);

    /// <summary>Reads the section; throws <see cref="ArgumentException"/>, <see cref="FileNotFoundException"/> or
    /// <see cref="InvalidDataException"/> naming the key or file (never a password) when a value is wrong.</summary>
    public static MqttBrokerSettings Bind(IConfiguration configuration, string? brokerOption)
    {
        IConfigurationSection s = configuration.GetSection(Section);
        IReadOnlyList<MqttEndpoint> endpoints = brokerOption != null ? MqttEndpoint.ParseList(brokerOption) : ReadEndpoints(s.GetSection("Endpoints"));
        string? password = NonEmpty(s["Password"]);
        string? passwordFile = NonEmpty(s["PasswordFile"]);
        if (password != null && passwordFile != null) throw new ArgumentException($"set {Section}:Password or {Section}:PasswordFile, not both");
        if (passwordFile != null) password = ReadSecret(passwordFile, $"{Section}:PasswordFile");
        var devices = ReadDevices(s.GetSection("Devices"));
        return new MqttBrokerSettings
        {
            Endpoints = endpoints,
            Username = NonEmpty(s["Username"]),
            Password = password,
            ClientId = NonEmpty(s["ClientId"]),
            Tls = ReadTls(s.GetSection("Tls")),
            Devices = devices,
            SpreadDevices = ReadBool(s.GetSection("Devices")["Spread"], $"{Section}:Devices:Spread"),
        };
    }

    private static IReadOnlyList<MqttEndpoint> ReadEndpoints(IConfigurationSection s)
    {
        // Either one value "h1:1883,h2:1883" or an array (Endpoints:0, Endpoints:1 … / IotOta__Mqtt__Endpoints__0).
        if (NonEmpty(s.Value) is { } list) return MqttEndpoint.ParseList(list);
        var items = s.GetChildren().OrderBy(c => int.TryParse(c.Key, out int i) ? i : int.MaxValue)
            .Select(c => c.Value).Where(v => !string.IsNullOrWhiteSpace(v)).ToList();
        return items.Count == 0 ? [] : MqttEndpoint.ParseList(string.Join(",", items));
    }

    private static MqttTls? ReadTls(IConfigurationSection s)
    {
        string? ca = NonEmpty(s["CaFile"]);
        string? cert = NonEmpty(s["ClientCertificateFile"]);
        string? key = NonEmpty(s["ClientKeyFile"]);
        if (ca == null)
        {
            if (cert != null || key != null) throw new ArgumentException($"{Section}:Tls:ClientCertificateFile needs {Section}:Tls:CaFile (the CA the broker's certificate chains to)");
            return null;
        }
        if (!File.Exists(ca)) throw new FileNotFoundException($"{Section}:Tls:CaFile not found: {ca}", ca);
        X509Certificate2 authority;
        try
        {
            authority = X509CertificateLoader.LoadCertificateFromFile(ca);
        }
        catch (CryptographicException e)
        {
            throw new InvalidDataException($"{Section}:Tls:CaFile {ca} is not a certificate (PEM or DER): {e.Message}", e);
        }
        X509Certificate2? client = null;
        if (cert != null)
        {
            if (!File.Exists(cert)) throw new FileNotFoundException($"{Section}:Tls:ClientCertificateFile not found: {cert}", cert);
            if (key != null && !File.Exists(key)) throw new FileNotFoundException($"{Section}:Tls:ClientKeyFile not found: {key}", key);
            try
            {
                using var pem = X509Certificate2.CreateFromPemFile(cert, key);
                // Re-import so that SslStream can use the private key on every platform.
                client = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
            }
            catch (CryptographicException e)
            {
                throw new InvalidDataException($"{Section}:Tls:ClientCertificateFile {cert} (with its key) cannot be read: {e.Message}", e);
            }
        }
        else if (key != null) throw new ArgumentException($"{Section}:Tls:ClientKeyFile needs {Section}:Tls:ClientCertificateFile");
        return new MqttTls(authority, NonEmpty(s["TargetHost"]) ?? "localhost") { ClientCertificate = client };
    }

    private static DeviceCredentialSource? ReadDevices(IConfigurationSection s)
    {
        string? user = NonEmpty(s["UsernamePattern"]);
        string? pass = NonEmpty(s["PasswordPattern"]);
        string? passFile = NonEmpty(s["PasswordPatternFile"]);
        string? file = NonEmpty(s["CredentialsFile"]);
        if (pass != null && passFile != null) throw new ArgumentException($"set {Section}:Devices:PasswordPattern or …:PasswordPatternFile, not both");
        if (passFile != null) pass = ReadSecret(passFile, $"{Section}:Devices:PasswordPatternFile");
        if (user == null && file == null)
        {
            if (pass != null) throw new ArgumentException($"{Section}:Devices:PasswordPattern needs {Section}:Devices:UsernamePattern");
            return null;
        }
        return new DeviceCredentialSource { UsernamePattern = user, PasswordPattern = pass, CredentialsFile = file }.Load();
    }

    private static bool ReadBool(string? value, string key)
    {
        if (string.IsNullOrWhiteSpace(value)) return false;
        if (bool.TryParse(value, out bool b)) return b;
        throw new ArgumentException($"{key} must be true or false, not '{value}'");
    }

    /// <summary>The first line of a secret file, trimmed (a trailing newline is not part of the password).</summary>
    private static string ReadSecret(string path, string key)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{key} not found: {path}", path);
        return (File.ReadLines(path).FirstOrDefault() ?? "").Trim();
    }

    private static string? NonEmpty(string? v) => string.IsNullOrWhiteSpace(v) ? null : v.Trim();
}
