using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using MQTTnet;

namespace IotOta.Gateway.Mqtt;

/// <summary>
/// MQTT over TLS as a client sees it: the broker's certificate must chain to <see cref="Authority"/> (a private CA,
/// the only one trusted: the system store is not consulted) and name <see cref="TargetHost"/>; with
/// <see cref="ClientCertificate"/> (holding its private key) the client also proves who it is. Immutable.
/// </summary>
public sealed record MqttTls(X509Certificate2 Authority, string TargetHost = "localhost")
{
    /// <summary>The client's own certificate with its private key (brokers that require mutual TLS), or null.</summary>
    public X509Certificate2? ClientCertificate { get; init; }

    /// <summary>Switches TLS on in <paramref name="builder"/> with this validation.</summary>
    public MqttClientOptionsBuilder Apply(MqttClientOptionsBuilder builder) =>
        builder.WithTlsOptions(t =>
        {
            t.UseTls()
                .WithTargetHost(TargetHost)
                .WithCertificateValidationHandler(e => Validate(e.Certificate, e.SslPolicyErrors));
            if (ClientCertificate != null) t.WithClientCertificates([ClientCertificate]);
        });

    /// <summary>True when <paramref name="presented"/> chains to the authority and had no name mismatch.</summary>
    public bool Validate(X509Certificate? presented, SslPolicyErrors errors)
    {
        if (presented == null) return false;
        if ((errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0) return false;
        using var cert = X509CertificateLoader.LoadCertificate(presented.GetRawCertData());
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(Authority);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(cert);
    }
}
