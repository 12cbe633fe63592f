using System.Buffers;
using IotOta.Simulation.Security;
using IotOta.Gateway.Mqtt;
using IotOta.Simulation.Demo;
using IotOta.Gateway.Fleet;
using IotOta.Gateway.Security;
using IotOta.Shared.Protocol;
using IotOta.TestSupport;
using IotOta.VirtualDevice.Network;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace IotOta.Integration.Tests.Security;

/// <summary>The same accounts and ACL enforced by Mosquitto (generated files) and by the embedded broker (BrokerGuard),
/// checked with real MQTT 5 clients.</summary>
public sealed class SecureBrokerTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private static MqttClientOptions Options(string host, int port, string clientId, string? user, string? secret, MqttTls? tls)
    {
        var b = new MqttClientOptionsBuilder().WithTcpServer(host, port).WithClientId(clientId).WithCleanSession(true)
            .WithProtocolVersion(MqttProtocolVersion.V500).WithTimeout(TimeSpan.FromSeconds(5));
        if (user != null) b = b.WithCredentials(user, secret ?? "");
        if (tls != null) b = tls.Apply(b);
        return b.Build();
    }

    /// <summary>Connects; null when the broker (or TLS) refused.</summary>
    private static async Task<IMqttClient?> TryConnectAsync(string host, int port, string clientId, string? user, string? secret, MqttTls? tls = null)
    {
        var c = new MqttClientFactory().CreateMqttClient();
        try
        {
            using var cts = new CancellationTokenSource(Wait);
            var r = await c.ConnectAsync(Options(host, port, clientId, user, secret, tls), cts.Token);
            if (r.ResultCode == MqttClientConnectResultCode.Success) return c;
        }
        catch (Exception)
        {
            // refused
        }
        c.Dispose();
        return null;
    }

    internal static async Task<bool> PlainConnectSucceedsAsync(string host, int port, MqttCredential who)
    {
        using var c = await TryConnectAsync(host, port, who.Username, who.Username, who.Secret);
        return c != null;
    }

    private sealed record Broker(string Host, int Port, IAsyncDisposable Handle);

    private static async Task<Broker> StartAsync(string kind, FleetProvisioning p)
    {
        if (kind == "mosquitto")
        {
            var m = await MosquittoBroker.StartAsync(SecureRolloutTests.MosquittoFiles(p));
            return new Broker(m.Host, m.Port, m);
        }
        var e = await EmbeddedBroker.StartAsync(0, p.BrokerSecurity);
        return new Broker(e.Host, e.Port, e);
    }

    [Theory]
    [InlineData("mosquitto")]
    [InlineData("embedded")]
    public async Task Only_an_accounts_own_secret_connects(string kind)
    {
        using var p = FleetProvisioning.Create(3, 1);
        var b = await StartAsync(kind, p);
        await using var _ = b.Handle;
        var d1 = p.Devices[1];
        var d2 = p.Devices[2];
        using (var ok = await TryConnectAsync(b.Host, b.Port, d1.Username, d1.Username, d1.Secret)) Assert.NotNull(ok);
        Assert.Null(await TryConnectAsync(b.Host, b.Port, d2.Username, d2.Username, d1.Secret));
        Assert.Null(await TryConnectAsync(b.Host, b.Port, d2.Username, d2.Username, "wrong"));
        Assert.Null(await TryConnectAsync(b.Host, b.Port, "anyone", null, null));
        Assert.Null(await TryConnectAsync(b.Host, b.Port, "dev-99", "dev-99", d1.Secret));
    }

    [Theory]
    [InlineData("mosquitto")]
    [InlineData("embedded")]
    public async Task A_device_cannot_publish_as_another_device_or_the_gateway(string kind)
    {
        using var p = FleetProvisioning.Create(3, 1);
        var b = await StartAsync(kind, p);
        await using var _ = b.Handle;
        using var monitor = (await TryConnectAsync(b.Host, b.Port, p.Monitor.Username, p.Monitor.Username, p.Monitor.Secret))!;
        var seen = new System.Collections.Concurrent.ConcurrentBag<string>();
        monitor.ApplicationMessageReceivedAsync += e =>
        {
            seen.Add(e.ApplicationMessage.Topic + "=" + e.ApplicationMessage.ConvertPayloadToString());
            return Task.CompletedTask;
        };
        await monitor.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter("iotota/#", MqttQualityOfServiceLevel.AtLeastOnce).Build());
        var d1 = p.Devices[1];
        using var dev = (await TryConnectAsync(b.Host, b.Port, d1.Username, d1.Username, d1.Secret))!;

        async Task<MqttClientPublishReasonCode> Pub(string topic) =>
            (await dev.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload("x").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build())).ReasonCode;

        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, await Pub(Topics.DeviceOut(2)));
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, await Pub(Topics.DeviceStatus(2)));
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, await Pub(Topics.DeviceIn(2)));
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, await Pub(Topics.GroupManifest(1)));
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, await Pub(Topics.GroupMembers(1)));
        Assert.Equal(MqttClientPublishReasonCode.Success, await Pub(Topics.DeviceOut(1)));
        var deadline = DateTime.UtcNow + Wait;
        while (!seen.Contains(Topics.DeviceOut(1) + "=x") && DateTime.UtcNow < deadline) await Task.Delay(20);
        await Task.Delay(200);
        Assert.Equal([Topics.DeviceOut(1) + "=x"], seen.ToArray());
    }

    [Fact]
    public async Task The_embedded_broker_refuses_wide_subscriptions_and_counts_refusals()
    {
        using var p = FleetProvisioning.Create(2, 1);
        await using var broker = await EmbeddedBroker.StartAsync(0, p.BrokerSecurity);
        var d1 = p.Devices[1];
        using var dev = (await TryConnectAsync(broker.Host, broker.Port, d1.Username, d1.Username, d1.Secret))!;
        var r = await dev.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter(Topics.DeviceIn(1)).WithTopicFilter(Topics.AllDeviceOut).WithTopicFilter(Topics.GroupManifest(2)).Build());
        var codes = r.Items.Select(i => i.ResultCode).ToArray();
        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS0, codes[0]);
        Assert.Equal(MqttClientSubscribeResultCode.NotAuthorized, codes[1]);
        Assert.Equal(MqttClientSubscribeResultCode.NotAuthorized, codes[2]);
        Assert.Null(await TryConnectAsync(broker.Host, broker.Port, "dev-2", d1.Username, d1.Secret)); // own account, another's client id
        Assert.Equal(2, broker.Guard!.RefusedSubscriptions);
        Assert.Equal(1, broker.Guard.RefusedConnects);
    }

    [Fact]
    public async Task A_client_that_does_not_trust_the_brokers_ca_does_not_connect()
    {
        using var p = FleetProvisioning.Create(1, 1, tls: true);
        using var other = MqttCertificates.Create();
        await using var broker = await EmbeddedBroker.StartAsync(0, p.BrokerSecurity);
        var d = p.Devices[1];
        using (var ok = await TryConnectAsync(broker.Host, broker.Port, d.Username, d.Username, d.Secret, p.ClientTls)) Assert.NotNull(ok);
        Assert.Null(await TryConnectAsync(broker.Host, broker.Port, d.Username, d.Username, d.Secret, new MqttTls(other.Authority)));
        Assert.Null(await TryConnectAsync(broker.Host, broker.Port, d.Username, d.Username, d.Secret, null));
    }
}

/// <summary>Accounts issued or revoked after the broker started: the embedded broker sees the registry live,
/// Mosquitto after the files are rewritten and it got SIGHUP.</summary>
public sealed class ReprovisioningTests
{
    private static async Task<bool> ConnectsAsync(string host, int port, MqttCredential c)
    {
        using var client = new MqttClientFactory().CreateMqttClient();
        try
        {
            var r = await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(host, port).WithClientId(c.Username)
                .WithCredentials(c.Username, c.Secret).WithTimeout(TimeSpan.FromSeconds(5)).Build());
            return r.ResultCode == MqttClientConnectResultCode.Success;
        }
        catch (Exception)
        {
            return false;
        }
    }

    private static async Task<bool> EventuallyAsync(Func<Task<bool>> check)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            if (await check()) return true;
            await Task.Delay(100);
        }
        return false;
    }

    [Fact]
    public async Task Mosquitto_takes_a_new_device_and_drops_a_revoked_one_after_a_reload()
    {
        using var p = FleetProvisioning.Create(2, 1);
        await using var broker = await MosquittoBroker.StartAsync(SecureRolloutTests.MosquittoFiles(p));
        var d1 = p.Devices[1];
        Assert.True(await ConnectsAsync(broker.Host, broker.Port, d1));
        var d3 = p.AddDevice(3, 1);
        Assert.False(await ConnectsAsync(broker.Host, broker.Port, d3));
        p.Registry.Revoke(d1.Username);
        broker.ReloadSecurity(SecureRolloutTests.MosquittoFiles(p));
        Assert.True(await EventuallyAsync(() => ConnectsAsync(broker.Host, broker.Port, d3)), broker.Log);
        Assert.False(await ConnectsAsync(broker.Host, broker.Port, d1));
    }

    [Fact]
    public async Task The_embedded_broker_follows_the_registry_at_once()
    {
        using var p = FleetProvisioning.Create(1, 1);
        await using var broker = await EmbeddedBroker.StartAsync(0, p.BrokerSecurity);
        var d1 = p.Devices[1];
        Assert.True(await ConnectsAsync(broker.Host, broker.Port, d1));
        var d2 = p.AddDevice(2, 1);
        Assert.True(await ConnectsAsync(broker.Host, broker.Port, d2));
        p.Registry.Revoke(d1.Username);
        Assert.False(await ConnectsAsync(broker.Host, broker.Port, d1));
    }
}
