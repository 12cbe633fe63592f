using IotOta.Simulation.Security;
using IotOta.Gateway.Mqtt;
using IotOta.Simulation.Demo;
using IotOta.Gateway.Security;
using IotOta.TestSupport;
using Xunit.Abstractions;

namespace IotOta.Integration.Tests.Security;

/// <summary>Rollouts with per-device credentials, the topic ACL and TLS switched on: through Mosquitto (generated
/// password_file, acl_file, cafile/certfile/keyfile) and through the embedded broker (BrokerGuard, TLS endpoint).</summary>
[Collection("rollouts")]
public sealed class SecureRolloutTests(ITestOutputHelper output)
{
    private const int ImageSize = 128 * 1024;

    private static DemoOptions Small(string? broker, FleetProvisioning p) => new()
    {
        Devices = 6,
        Groups = 2,
        ImageSize = ImageSize,
        Broker = broker,
        Provisioning = p,
        Timeout = TimeSpan.FromSeconds(60),
        Seed = 3,
    };

    private void AssertAllUpdated(DemoSummary s)
    {
        output.WriteLine(System.Text.Json.JsonSerializer.Serialize(s));
        Assert.False(s.TimedOut);
        Assert.Equal(6, s.Updated);
        Assert.Equal(6, s.SlotsVerified);
        Assert.True(s.PeerPayloadBytes > 0);
    }

    internal static MosquittoSecurity MosquittoFiles(FleetProvisioning p) => new()
    {
        PasswordFile = p.PasswordFile(),
        AclFile = p.AclFile(),
        CaPem = p.Certificates?.AuthorityPem(),
        CertPem = p.Certificates?.ServerCertificatePem(),
        KeyPem = p.Certificates?.ServerKeyPem(),
    };

    [Fact]
    public async Task Rollout_over_tls_through_mosquitto_with_credentials_and_acl()
    {
        using var p = FleetProvisioning.Create(6, 2, tls: true);
        await using var mosquitto = await MosquittoBroker.StartAsync(MosquittoFiles(p));
        var s = await DemoRunner.RunAsync(Small($"{mosquitto.Host}:{mosquitto.Port}", p), null, output.WriteLine, CancellationToken.None);
        AssertAllUpdated(s);
        // the listener speaks TLS only: a plain-TCP client gets no CONNACK
        Assert.False(await SecureBrokerTests.PlainConnectSucceedsAsync(mosquitto.Host, mosquitto.Port, p.Monitor));
    }

    [Fact]
    public async Task Rollout_over_tls_through_the_embedded_broker_with_credentials_and_acl()
    {
        using var p = FleetProvisioning.Create(6, 2, tls: true);
        var s = await DemoRunner.RunAsync(Small(null, p), null, output.WriteLine, CancellationToken.None);
        AssertAllUpdated(s);
    }
}
