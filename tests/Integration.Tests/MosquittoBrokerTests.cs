using System.Buffers;
using System.Text;
using IotOta.Shared.Protocol;
using IotOta.TestSupport;
using MQTTnet;

namespace IotOta.Integration.Tests;

public class MosquittoBrokerTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private static async Task<IMqttClient> ConnectAsync(MqttClientFactory factory, MosquittoBroker broker, string clientId)
    {
        var client = factory.CreateMqttClient();
        var options = new MqttClientOptionsBuilder()
            .WithTcpServer(broker.Host, broker.Port)
            .WithClientId(clientId)
            .WithCleanSession()
            .Build();
        using var cts = new CancellationTokenSource(Timeout);
        await client.ConnectAsync(options, cts.Token);
        return client;
    }

    [Fact]
    public async Task Publishes_and_receives_a_message()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        Assert.True(broker.IsRunning);
        Assert.NotEqual(1883, broker.Port);

        var factory = new MqttClientFactory();
        using var sub = await ConnectAsync(factory, broker, "sub");
        using var pub = await ConnectAsync(factory, broker, "pub");

        var received = new TaskCompletionSource<(string Topic, byte[] Payload)>(TaskCreationOptions.RunContinuationsAsynchronously);
        sub.ApplicationMessageReceivedAsync += e =>
        {
            received.TrySetResult((e.ApplicationMessage.Topic, e.ApplicationMessage.Payload.ToArray()));
            return Task.CompletedTask;
        };
        await sub.SubscribeAsync(factory.CreateSubscribeOptionsBuilder().WithTopicFilter(Topics.AllDeviceStatus).Build());

        var presence = Samples.Presence(42);
        await pub.PublishAsync(new MqttApplicationMessageBuilder()
            .WithTopic(Topics.DeviceStatus(42))
            .WithPayload(presence)
            .WithQualityOfServiceLevel(MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce)
            .Build());

        var (topic, payload) = await received.Task.WaitAsync(Timeout);
        Assert.Equal("iotota/dev/42/status", topic);
        Assert.Equal(42u, Topics.NodeIdOf(topic));
        var p = new Presence();
        p.Parse(payload, 0, payload.Length);
        Assert.Equal(42u, p.NodeId);
    }

    [Fact]
    public async Task Stop_and_start_keep_the_port()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        int port = broker.Port;
        broker.Stop();
        Assert.False(broker.IsRunning);
        Assert.False(FreePort.Accepts(broker.Host, port));
        broker.Start();
        Assert.True(broker.IsRunning);
        Assert.Equal(port, broker.Port);

        var factory = new MqttClientFactory();
        using var client = await ConnectAsync(factory, broker, "after-restart");
        Assert.True(client.IsConnected);
    }

    [Fact]
    public async Task Extra_config_is_appended()
    {
        await using var broker = await MosquittoBroker.StartAsync("max_keepalive 60");
        Assert.Contains("max_keepalive 60", File.ReadAllText(broker.ConfigPath));
        Assert.Contains($"listener {broker.Port} 127.0.0.1", File.ReadAllText(broker.ConfigPath));
    }

    [Fact]
    public async Task Dispose_kills_the_broker_and_deletes_its_dir()
    {
        var broker = await MosquittoBroker.StartAsync();
        var dir = Path.GetDirectoryName(broker.ConfigPath)!;
        int port = broker.Port;
        await broker.DisposeAsync();
        Assert.False(broker.IsRunning);
        Assert.False(Directory.Exists(dir));
        Assert.False(FreePort.Accepts("127.0.0.1", port));
    }

    [Fact]
    public async Task Missing_binary_has_a_clear_error()
    {
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => MosquittoBroker.StartAsync(binary: "/nonexistent/mosquitto"));
        Assert.Equal("mosquitto not installed: run scripts/test.sh", ex.Message);
    }

    [Fact]
    public void TempDir_deletes_on_dispose()
    {
        string path;
        using (var d = new TempDir())
        {
            path = d.Path;
            File.WriteAllText(d.File("x.txt"), "x");
            Assert.True(Directory.Exists(path));
        }
        Assert.False(Directory.Exists(path));
    }

    private static class Samples
    {
        public static byte[] Presence(uint node) => new Presence
        {
            NodeId = node, GroupId = 1, Online = true, Ip = 0x0100007F, Port = 40000,
            RunningVersion = new FirmwareVersion(1, 0, 0), State = DeviceState.Idle,
        }.ToBytes();
    }
}
