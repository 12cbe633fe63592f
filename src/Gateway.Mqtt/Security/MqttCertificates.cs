using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace IotOta.Gateway.Security;

/// <summary>
/// A private certificate authority and a broker certificate it signed (ECDSA P-256), for MQTT over TLS: the broker
/// (embedded or Mosquitto) presents <see cref="Server"/>, devices and gateway trust only <see cref="Authority"/>.
/// PEM exports feed Mosquitto's cafile/certfile/keyfile.
/// </summary>
public sealed class MqttCertificates : IDisposable
{
    private MqttCertificates(X509Certificate2 authority, X509Certificate2 server)
    {
        Authority = authority;
        Server = server;
    }

    /// <summary>The CA certificate (public part only).</summary>
    public X509Certificate2 Authority { get; }
    /// <summary>The broker's certificate with its private key.</summary>
    public X509Certificate2 Server { get; }
    /// <summary>The host name in the broker certificate (also has IP SANs 127.0.0.1 and ::1).</summary>
    public string ServerName { get; private init; } = "localhost";

    /// <summary>Creates a CA valid for <paramref name="validFor"/> (default one year) and a broker certificate for
    /// <paramref name="serverName"/>, 127.0.0.1 and ::1.</summary>
    public static MqttCertificates Create(string serverName = "localhost", TimeSpan? validFor = null)
    {
        var now = DateTimeOffset.UtcNow.AddMinutes(-5);
        var until = now + (validFor ?? TimeSpan.FromDays(365));
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caReq = new CertificateRequest("CN=IotOta MQTT CA", caKey, HashAlgorithmName.SHA256);
        caReq.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        caReq.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caReq.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caReq.PublicKey, false));
        using X509Certificate2 caWithKey = caReq.CreateSelfSigned(now, until.AddDays(1));

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest("CN=" + serverName, serverKey, HashAlgorithmName.SHA256);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement, true));
        req.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(serverName);
        san.AddIpAddress(IPAddress.Loopback);
        san.AddIpAddress(IPAddress.IPv6Loopback);
        req.CertificateExtensions.Add(san.Build());
        byte[] serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        using X509Certificate2 signed = req.Create(caWithKey, now, until, serial);
        using X509Certificate2 withKey = signed.CopyWithPrivateKey(serverKey);
        // Round-trip through PKCS#12 so SslStream on Linux can use the key.
        var server = X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
        var authority = X509CertificateLoader.LoadCertificate(caWithKey.Export(X509ContentType.Cert));
        return new MqttCertificates(authority, server) { ServerName = serverName };
    }

    public string AuthorityPem() => Authority.ExportCertificatePem();
    public string ServerCertificatePem() => Server.ExportCertificatePem();
    public string ServerKeyPem()
    {
        using ECDsa key = Server.GetECDsaPrivateKey() ?? throw new InvalidOperationException("the server certificate has no private key");
        return key.ExportPkcs8PrivateKeyPem();
    }

    public void Dispose()
    {
        Authority.Dispose();
        Server.Dispose();
    }
}
