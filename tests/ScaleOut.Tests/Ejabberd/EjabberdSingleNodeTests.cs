using IotOta.Simulation.Demo;
using IotOta.Gateway.Mqtt;
using IotOta.TestSupport;

using Xunit.Abstractions;

namespace IotOta.ScaleOut.Tests.Ejabberd;

/// <summary>A rollout on ejabberd's MQTT (mod_mqtt, Debian 23.01) with credentials for the gateway and every device.</summary>
public sealed class EjabberdSingleNodeTests(ITestOutputHelper output)
{
    internal const int Devices = 24;
    internal const int Groups = 3;
    internal const string GatewayUser = "gateway";

    internal static IEnumerable<(string, string)> Accounts(string gatewayPassword) =>
        [(GatewayUser, gatewayPassword), .. Enumerable.Range(1, Devices).Select(i => ($"dev-{i}", $"pw-{i}-device"))];

    internal static DeviceCredentialSource DeviceCredentials => new() { UsernamePattern = "dev-{id}", PasswordPattern = "pw-{id}-device" };

    [Fact]
    public async Task A_rollout_of_24_devices_completes_on_one_ejabberd_node_with_credentials()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        await using var node = await EjabberdNode.StartAsync(ct: cts.Token);
        string password = "gw-" + Guid.NewGuid().ToString("N")[..10];
        await node.RegisterAsync(Accounts(password), cts.Token);
        // Every client goes through a relay that counts what ejabberd sends (it has no $SYS byte counters).
        await using var wire = new SeverableTcpProxy(node.Host, node.Port);
        var settings = new MqttBrokerSettings
        {
            Endpoints = [new MqttEndpoint(wire.Host, wire.Port)],
            Username = GatewayUser,
            Password = password,
            Devices = DeviceCredentials,
        };
        var log = new List<string>();
        DemoSummary s = await DemoRunner.RunAsync(new DemoOptions
        {
            Devices = Devices,
            Groups = Groups,
            ImageSize = 512 * 1024,
            Broker = $"{wire.Host}:{wire.Port}",
            BrokerSettings = settings,
            Timeout = TimeSpan.FromMinutes(2),
        }, null, m => { lock (log) log.Add(m); }, cts.Token);

        output.WriteLine($"ejabberd 1 node: {s.Updated}/{s.Devices} updated in {s.Seconds:0.00} s; gateway payload {s.GatewayPayloadBytes} B " +
                         $"({s.GatewayPayloadPerImage:0.000}× image of {s.ImageBytes} B); broker sent {wire.BytesFromTarget} B on the wire " +
                         $"({(double)wire.BytesFromTarget / s.ImageBytes:0.00}× image), received {wire.BytesToTarget} B");
        Assert.True(s.Updated == Devices, $"{s.Updated}/{Devices} updated; log tail:\n{string.Join("\n", log.TakeLast(30))}\n{node.Output}");
        Assert.Equal(Devices, s.SlotsVerified);
        Assert.False(s.TimedOut);
        // Each byte of the image crossed the first network about once from the gateway.
        Assert.InRange(s.GatewayPayloadPerImage, 1.0, 1.2);
    }

    [Fact]
    public async Task Wrong_gateway_password_is_refused_with_a_message_that_does_not_contain_it()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await using var node = await EjabberdNode.StartAsync(ct: cts.Token);
        await node.RegisterAsync([(GatewayUser, "right-password")], cts.Token);
        const string wrong = "wrong-password-123";
        var settings = new MqttBrokerSettings { Endpoints = [new MqttEndpoint(node.Host, node.Port)], Username = GatewayUser, Password = wrong };
        await using var gateway = MqttGatewayNode.Create(settings);
        var e = await Assert.ThrowsAnyAsync<Exception>(() => gateway.StartAsync(cts.Token));
        output.WriteLine(e.GetType().Name + ": " + e.Message);
        Assert.DoesNotContain(wrong, e.ToString());
        Assert.DoesNotContain(wrong, settings.Describe());
        Assert.False(gateway.Broker.IsConnected);
    }
}
