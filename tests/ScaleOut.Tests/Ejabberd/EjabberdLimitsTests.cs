using IotOta.Gateway;
using IotOta.Gateway.Mqtt;
using IotOta.TestSupport;

using Xunit.Abstractions;

namespace IotOta.ScaleOut.Tests.Ejabberd;

/// <summary>A broker whose packet limit is below what a chunk needs is refused at start, with what to change.</summary>
public sealed class EjabberdLimitsTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Gateway_refuses_at_start_a_broker_whose_maximum_packet_is_smaller_than_a_chunk()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await using var node = await EjabberdNode.StartAsync(maxPayloadSize: 2000, ct: cts.Token);
        await node.RegisterAsync([("gateway", "pw")], cts.Token);
        var settings = new MqttBrokerSettings { Endpoints = [new MqttEndpoint(node.Host, node.Port)], Username = "gateway", Password = "pw" };

        await using (var small = MqttGatewayNode.Create(settings, requiredPacketBytes: BrokerLimits.PacketBytesFor(1024)))
        {
            await small.StartAsync(cts.Token); // 1 KiB chunks fit in 2000 bytes
            // ejabberd announces no packet limit in CONNACK (0 = none): the gateway finds it with a probe packet.
            output.WriteLine($"limits: {((GatewayMqttClient)small.Broker).Limits}");
            Assert.True(small.Broker.IsConnected);
        }

        await using var big = MqttGatewayNode.Create(settings, requiredPacketBytes: BrokerLimits.PacketBytesFor(4096));
        var e = await Assert.ThrowsAsync<BrokerLimitException>(() => big.StartAsync(cts.Token));
        output.WriteLine(e.Message);
        Assert.Contains(BrokerLimits.PacketBytesFor(4096).ToString(), e.Message);
        Assert.Contains("--chunk-size", e.Message);
        Assert.False(big.Broker.IsConnected);
    }
}
