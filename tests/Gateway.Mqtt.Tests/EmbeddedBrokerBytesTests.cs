using System.Buffers;
using MQTTnet;
using MQTTnet.Protocol;

namespace IotOta.Gateway.Mqtt.Tests;

public class EmbeddedBrokerBytesTests
{
    [Fact]
    public async Task A_publish_counts_once_received_and_once_per_subscriber_sent_with_its_mqtt_framing()
    {
        await using var broker = await EmbeddedBroker.StartAsync();
        var bytes = new EmbeddedBrokerBytes(broker.Server);
        var factory = new MqttClientFactory();
        using var sub = factory.CreateMqttClient();
        using var pub = factory.CreateMqttClient();
        var got = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        sub.ApplicationMessageReceivedAsync += e =>
        {
            got.TrySetResult((int)e.ApplicationMessage.Payload.Length);
            return Task.CompletedTask;
        };
        var options = new MqttClientOptionsBuilder().WithTcpServer(broker.Host, broker.Port).WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500);
        await sub.ConnectAsync(options.WithClientId("sub").Build());
        await sub.SubscribeAsync("t/x", MqttQualityOfServiceLevel.AtLeastOnce);
        await pub.ConnectAsync(options.WithClientId("pub").Build());
        long sentBefore = bytes.Sent, receivedBefore = bytes.Received;

        await pub.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("t/x").WithPayload(new byte[10_000])
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
        Assert.Equal(10_000, await got.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        await Task.Delay(200); // the subscriber's PUBACK

        long sent = bytes.Sent - sentBefore, received = bytes.Received - receivedBefore;
        // received: the PUBLISH (payload + topic + header) and the subscriber's PUBACK; sent: the PUBLISH to the
        // subscriber and the PUBACK to the publisher. Framing is a few bytes, never kilobytes.
        Assert.InRange(received, 10_000 + 4 + 3, 10_000 + 64);
        Assert.InRange(sent, 10_000 + 4 + 3, 10_000 + 64);
        await pub.DisconnectAsync();
        await sub.DisconnectAsync();
    }
}
