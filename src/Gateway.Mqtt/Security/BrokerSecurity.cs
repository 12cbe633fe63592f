using IotOta.Gateway.Fleet;

namespace IotOta.Gateway.Security;

/// <summary>What a broker enforces: with <see cref="Credentials"/> only known accounts connect and
/// <see cref="TopicAcl"/> applies; with <see cref="Certificates"/> it listens with TLS only. Both null = open (the
/// out-of-the-box demo).</summary>
public sealed record BrokerSecurity(CredentialRegistry? Credentials = null, MqttCertificates? Certificates = null)
{
    public static readonly BrokerSecurity Open = new();
}
