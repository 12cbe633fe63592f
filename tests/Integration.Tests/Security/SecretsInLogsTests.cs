using System.Collections.Concurrent;
using IotOta.Simulation.Security;
using IotOta.Gateway.Mqtt;
using IotOta.Simulation.Demo;
using IotOta.Gateway.Security;
using IotOta.TestSupport;
using MQTTnet;
using Xunit.Abstractions;

namespace IotOta.Integration.Tests.Security;

/// <summary>A small secure rollout with every log captured — gateway, devices, broker (Mosquitto at log_type all, or
/// the embedded broker's guard) — plus refused connects with real secrets: no issued secret may appear anywhere.</summary>
[Collection("rollouts")]
public sealed class SecretsInLogsTests(ITestOutputHelper output)
{
    private static DemoOptions Small(string? broker, FleetProvisioning p) => new()
    {
        Devices = 4,
        Groups = 2,
        ImageSize = 64 * 1024,
        Broker = broker,
        Provisioning = p,
        Timeout = TimeSpan.FromSeconds(60),
    };

    /// <summary>Connect attempts that must be refused, each carrying a real secret (of another account).</summary>
    private static async Task RefusedAttemptsAsync(string host, int port, FleetProvisioning p, bool tls)
    {
        foreach (var (user, secret) in new[] { ("dev-2", p.Devices[1].Secret), ("iotota-gateway", p.Devices[1].Secret), ("dev-1", p.Gateway.Secret) })
        {
            using var c = new MqttClientFactory().CreateMqttClient();
            var b = new MqttClientOptionsBuilder().WithTcpServer(host, port).WithClientId(user).WithCredentials(user, secret).WithTimeout(TimeSpan.FromSeconds(5));
            if (tls) b = p.ClientTls!.Apply(b);
            try
            {
                var r = await c.ConnectAsync(b.Build());
                Assert.NotEqual(MqttClientConnectResultCode.Success, r.ResultCode);
            }
            catch (Exception e) when (e is not Xunit.Sdk.XunitException)
            {
                // refused
            }
        }
    }

    private void AssertNoSecret(FleetProvisioning p, IEnumerable<string> logs)
    {
        string all = string.Join("\n", logs);
        foreach (string secret in p.Secrets())
        {
            Assert.False(all.Contains(secret, StringComparison.Ordinal), "a secret appears in the logs");
        }
        // Hashes are stored, secrets not: nor may a hash leak into logs.
        foreach (var a in p.Registry.Accounts()) Assert.DoesNotContain(a.Hash, all);
    }

    [Fact]
    public async Task No_secret_in_gateway_device_or_mosquitto_logs()
    {
        using var p = FleetProvisioning.Create(4, 2);
        await using var mosquitto = await MosquittoBroker.StartAsync(SecureRolloutTests.MosquittoFiles(p), "log_type all\nconnection_messages true");
        var logs = new ConcurrentQueue<string>();
        await RefusedAttemptsAsync(mosquitto.Host, mosquitto.Port, p, tls: false);
        var s = await DemoRunner.RunAsync(Small($"{mosquitto.Host}:{mosquitto.Port}", p), null, logs.Enqueue, CancellationToken.None);
        Assert.Equal(4, s.Updated);
        output.WriteLine($"{logs.Count} gateway/device log lines, {mosquitto.Log.Length} chars of broker log");
        // The capture worked: the broker logged the accounts by name, the refusals too, the gateway its progress.
        Assert.Contains("u'dev-1'", mosquitto.Log);
        Assert.Contains("not authorised", mosquitto.Log);
        Assert.NotEmpty(logs);
        AssertNoSecret(p, logs.Append(mosquitto.Log));
    }

    [Fact]
    public async Task No_secret_in_gateway_device_or_embedded_broker_logs_over_tls()
    {
        using var p = FleetProvisioning.Create(4, 2, tls: true);
        var logs = new ConcurrentQueue<string>();
        await using (var probe = await EmbeddedBroker.StartAsync(0, p.BrokerSecurity, logs.Enqueue))
        {
            await RefusedAttemptsAsync(probe.Host, probe.Port, p, tls: true);
            Assert.Equal(3, probe.Guard!.RefusedConnects);
        }
        Assert.Contains(logs, l => l.Contains("refused connect of client 'dev-2' as user 'dev-2'"));
        var s = await DemoRunner.RunAsync(Small(null, p), null, logs.Enqueue, CancellationToken.None);
        Assert.Equal(4, s.Updated);
        AssertNoSecret(p, logs);
    }
}
