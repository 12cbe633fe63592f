using IotOta.Gateway.Mqtt;
using System.Net.Security;
using IotOta.Gateway.Security;
using IotOta.VirtualDevice.Network;

namespace IotOta.Gateway.Mqtt.Tests.Security;

public class MqttCertificatesTests
{
    [Fact]
    public void The_broker_certificate_validates_against_its_own_ca_only()
    {
        using var certs = MqttCertificates.Create();
        using var other = MqttCertificates.Create();
        Assert.True(certs.Server.HasPrivateKey);
        Assert.False(certs.Authority.HasPrivateKey);
        Assert.True(new MqttTls(certs.Authority).Validate(certs.Server, SslPolicyErrors.None));
        Assert.True(new MqttTls(certs.Authority).Validate(certs.Server, SslPolicyErrors.RemoteCertificateChainErrors));
        Assert.False(new MqttTls(other.Authority).Validate(certs.Server, SslPolicyErrors.None));
        Assert.False(new MqttTls(certs.Authority).Validate(certs.Server, SslPolicyErrors.RemoteCertificateNameMismatch));
        Assert.False(new MqttTls(certs.Authority).Validate(null, SslPolicyErrors.None));
    }

    [Fact]
    public void Pem_exports_hold_certificates_and_a_pkcs8_key()
    {
        using var certs = MqttCertificates.Create();
        Assert.StartsWith("-----BEGIN CERTIFICATE-----", certs.AuthorityPem());
        Assert.StartsWith("-----BEGIN CERTIFICATE-----", certs.ServerCertificatePem());
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", certs.ServerKeyPem());
        Assert.NotEqual(certs.AuthorityPem(), certs.ServerCertificatePem());
    }
}
