using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using IotOta.Gateway.Mqtt;
using IotOta.TestSupport;
using Microsoft.Extensions.Configuration;

namespace IotOta.ScaleOut.Tests.Gateway;

/// <summary>TLS from configuration against a Mosquitto that requires client certificates (require_certificate): the
/// gateway connects with IotOta:Mqtt:Tls:CaFile + ClientCertificateFile + ClientKeyFile, and is refused without them.</summary>
public sealed class MqttClientCertificateTests
{
    private static X509Certificate2 Issue(string cn, ECDsa key, X509Certificate2 ca, string usageOid, bool server)
    {
        var req = new CertificateRequest("CN=" + cn, key, HashAlgorithmName.SHA256);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement, true));
        req.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(usageOid)], false));
        if (server)
        {
            var san = new SubjectAlternativeNameBuilder();
            san.AddDnsName("localhost");
            san.AddIpAddress(IPAddress.Loopback);
            req.CertificateExtensions.Add(san.Build());
        }
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        return req.Create(ca, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1), serial);
    }

    [Fact]
    public async Task Gateway_connects_with_its_client_certificate_from_configuration_and_is_refused_without_it()
    {
        using var dir = new TempDir();
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caReq = new CertificateRequest("CN=IotOta test CA", caKey, HashAlgorithmName.SHA256);
        caReq.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caReq.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        using var ca = caReq.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(2));
        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var clientKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var server = Issue("localhost", serverKey, ca, "1.3.6.1.5.5.7.3.1", true);
        using var client = Issue("gateway", clientKey, ca, "1.3.6.1.5.5.7.3.2", false);
        File.WriteAllText(dir.File("ca.pem"), ca.ExportCertificatePem());
        File.WriteAllText(dir.File("client.pem"), client.ExportCertificatePem());
        File.WriteAllText(dir.File("client.key"), clientKey.ExportPkcs8PrivateKeyPem());

        await using var broker = await MosquittoBroker.StartAsync(new MosquittoSecurity
        {
            CaPem = ca.ExportCertificatePem(), CertPem = server.ExportCertificatePem(), KeyPem = serverKey.ExportPkcs8PrivateKeyPem(),
        }, "require_certificate true");
        IConfiguration Config(bool withClientCertificate) => new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["IotOta:Mqtt:Endpoints"] = $"{broker.Host}:{broker.Port}",
            ["IotOta:Mqtt:Tls:CaFile"] = dir.File("ca.pem"),
            ["IotOta:Mqtt:Tls:ClientCertificateFile"] = withClientCertificate ? dir.File("client.pem") : null,
            ["IotOta:Mqtt:Tls:ClientKeyFile"] = withClientCertificate ? dir.File("client.key") : null,
        }).Build();

        await using (var with = MqttGatewayNode.Create(MqttBrokerConfiguration.Bind(Config(true), null)))
        {
            await with.StartAsync(CancellationToken.None);
            Assert.True(with.Broker.IsConnected);
        }
        await using var without = MqttGatewayNode.Create(MqttBrokerConfiguration.Bind(Config(false), null));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await Assert.ThrowsAnyAsync<Exception>(() => without.StartAsync(cts.Token));
        Assert.False(without.Broker.IsConnected);
    }
}
