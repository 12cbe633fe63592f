using IotOta.Gateway.Mqtt;
using IotOta.TestSupport;

using Microsoft.Extensions.Configuration;

namespace IotOta.ScaleOut.Tests.Gateway;

/// <summary>IotOta:Mqtt bound from configuration: endpoints, secrets from the environment or files, TLS, device credentials.</summary>
public sealed class MqttBrokerConfigurationTests
{
    private static IConfiguration Config(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();

    [Fact]
    public void Endpoints_come_as_one_list_or_as_an_array_and_the_broker_option_replaces_them()
    {
        var list = MqttBrokerConfiguration.Bind(Config(("IotOta:Mqtt:Endpoints", "n1:1883, n2:1884")), null);
        Assert.Equal([new MqttEndpoint("n1", 1883), new MqttEndpoint("n2", 1884)], list.Endpoints);
        var array = MqttBrokerConfiguration.Bind(Config(("IotOta:Mqtt:Endpoints:1", "b:2"), ("IotOta:Mqtt:Endpoints:0", "a:1")), null);
        Assert.Equal([new MqttEndpoint("a", 1), new MqttEndpoint("b", 2)], array.Endpoints);
        var option = MqttBrokerConfiguration.Bind(Config(("IotOta:Mqtt:Endpoints", "n1:1883")), "[::1]:1999");
        Assert.Equal([new MqttEndpoint("::1", 1999)], option.Endpoints);
        Assert.True(MqttBrokerConfiguration.Bind(Config(), null).IsEmpty);
        var e = Assert.Throws<ArgumentException>(() => MqttBrokerConfiguration.Bind(Config(("IotOta:Mqtt:Endpoints", "n1")), null));
        Assert.Contains("'n1' is not HOST:PORT", e.Message);
    }

    [Fact]
    public void The_password_comes_from_a_file_and_is_never_in_the_description()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("pw"), "s3cret-from-file\n");
        var s = MqttBrokerConfiguration.Bind(Config(("IotOta:Mqtt:Endpoints", "h:1"), ("IotOta:Mqtt:Username", "gw"), ("IotOta:Mqtt:PasswordFile", dir.File("pw"))), null);
        Assert.Equal("s3cret-from-file", s.Password);
        Assert.Equal("gw", s.GatewayClientId);
        Assert.DoesNotContain("s3cret", s.Describe());
        Assert.DoesNotContain("s3cret", s.ToString());
        Assert.Contains("password set", s.Describe());
        var both = Assert.Throws<ArgumentException>(() => MqttBrokerConfiguration.Bind(
            Config(("IotOta:Mqtt:Password", "x"), ("IotOta:Mqtt:PasswordFile", dir.File("pw"))), null));
        Assert.Contains("not both", both.Message);
        var missing = Assert.Throws<FileNotFoundException>(() => MqttBrokerConfiguration.Bind(Config(("IotOta:Mqtt:PasswordFile", dir.File("none"))), null));
        Assert.Contains("IotOta:Mqtt:PasswordFile", missing.Message);
    }

    [Fact]
    public void Device_credentials_come_from_a_file_first_then_from_the_patterns()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("devices.txt"), "# node user password\n7 seven pass-with spaces\n\n");
        var s = MqttBrokerConfiguration.Bind(Config(("IotOta:Mqtt:Endpoints", "h:1"), ("IotOta:Mqtt:Devices:CredentialsFile", dir.File("devices.txt")),
            ("IotOta:Mqtt:Devices:UsernamePattern", "dev-{id}"), ("IotOta:Mqtt:Devices:PasswordPattern", "pw-{id}")), null);
        Assert.Equal(("seven", "pass-with spaces"), s.Devices!.For(7));
        Assert.Equal(("dev-8", "pw-8"), s.Devices.For(8));
        Assert.Equal(1, s.Devices.FileEntries);
        File.WriteAllText(dir.File("bad.txt"), "7 only-user\n");
        var e = Assert.Throws<InvalidDataException>(() => MqttBrokerConfiguration.Bind(Config(("IotOta:Mqtt:Devices:CredentialsFile", dir.File("bad.txt"))), null));
        Assert.Contains("line 1", e.Message);
        Assert.Null(new DeviceCredentialSource().For(1));
    }

    [Fact]
    public void Spread_devices_start_on_different_endpoints_and_fail_over_to_the_rest()
    {
        var s = MqttBrokerConfiguration.Bind(Config(("IotOta:Mqtt:Endpoints", "a:1,b:2,c:3"), ("IotOta:Mqtt:Devices:Spread", "true")), null);
        Assert.Equal(["a:1", "b:2", "c:3"], s.EndpointsFor(1).Select(e => e.ToString()));
        Assert.Equal(["b:2", "c:3", "a:1"], s.EndpointsFor(2).Select(e => e.ToString()));
        Assert.Equal(["a:1", "b:2", "c:3"], s.EndpointsFor(4).Select(e => e.ToString()));
        Assert.Throws<ArgumentException>(() => MqttBrokerConfiguration.Bind(Config(("IotOta:Mqtt:Devices:Spread", "yes")), null));
    }

    [Fact]
    public void Tls_needs_a_readable_ca_and_a_client_certificate_needs_the_ca()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<ArgumentException>(() => MqttBrokerConfiguration.Bind(Config(("IotOta:Mqtt:Tls:ClientCertificateFile", "x.pem")), null));
        Assert.Contains("CaFile", e.Message);
        File.WriteAllText(dir.File("ca.pem"), "not a certificate");
        Assert.Throws<InvalidDataException>(() => MqttBrokerConfiguration.Bind(Config(("IotOta:Mqtt:Tls:CaFile", dir.File("ca.pem"))), null));
        using var key = System.Security.Cryptography.ECDsa.Create();
        var req = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=test-ca", key, System.Security.Cryptography.HashAlgorithmName.SHA256);
        using var ca = req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        File.WriteAllText(dir.File("ca.pem"), ca.ExportCertificatePem());
        File.WriteAllText(dir.File("client.pem"), ca.ExportCertificatePem());
        File.WriteAllText(dir.File("client.key"), key.ExportPkcs8PrivateKeyPem());
        var s = MqttBrokerConfiguration.Bind(Config(("IotOta:Mqtt:Tls:CaFile", dir.File("ca.pem")), ("IotOta:Mqtt:Tls:TargetHost", "broker.example"),
            ("IotOta:Mqtt:Tls:ClientCertificateFile", dir.File("client.pem")), ("IotOta:Mqtt:Tls:ClientKeyFile", dir.File("client.key"))), null);
        Assert.Equal("broker.example", s.Tls!.TargetHost);
        Assert.Equal(ca.Thumbprint, s.Tls.Authority.Thumbprint);
        Assert.True(s.Tls.ClientCertificate!.HasPrivateKey);
        Assert.Contains("client certificate", s.Describe());
    }
}
