using IotOta.TestSupport;
using System.Collections.Concurrent;
using System.Text;
using IotOta.VirtualDevice.Network;
using IotOta.VirtualDevice.Tests.Support;
using MQTTnet;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace IotOta.VirtualDevice.Tests.Network;

public sealed class MqttDevicePortTests : IAsyncLifetime
{
    private readonly int _port = FreePort.Get();
    private MqttServer _server = null!;
    private readonly List<IAsyncDisposable> _owned = new();

    private async Task<MqttServer> StartServerAsync(TimeSpan? keepAliveMonitorInterval = null)
    {
        MqttServerOptions options = new MqttServerOptionsBuilder()
            .WithDefaultEndpoint()
            .WithDefaultEndpointBoundIPAddress(System.Net.IPAddress.Loopback)
            .WithDefaultEndpointPort(_port)
            .WithDefaultEndpointReuseAddress()
            .Build();
        if (keepAliveMonitorInterval is { } interval) options.KeepAliveOptions.MonitorInterval = interval;
        MqttServer server = new MqttServerFactory().CreateMqttServer(options);
        await server.StartAsync();
        return server;
    }

    public async Task InitializeAsync() => _server = await StartServerAsync();

    public async Task DisposeAsync()
    {
        foreach (IAsyncDisposable d in _owned) await d.DisposeAsync();
        await _server.StopAsync(new MqttServerStopOptions());
        _server.Dispose();
    }

    private sealed class Inbox
    {
        public readonly ConcurrentQueue<(string Topic, byte[] Payload)> Messages = new();
        public void Add(string topic, byte[] b, int o, int n) => Messages.Enqueue((topic, b.AsSpan(o, n).ToArray()));
    }

    private MqttDevicePort NewPort(string clientId, Inbox inbox, string willTopic = "will/x", byte[]? will = null,
        TokenBucket? up = null, TokenBucket? down = null, Action<string, byte[], int, int>? handler = null, TimeSpan? keepAlive = null)
    {
        var p = new MqttDevicePort("127.0.0.1", _port, clientId, null, null, willTopic, will ?? new byte[] { 0 },
            handler ?? inbox.Add, up, down, LinkProfile.Unlimited, keepAlive: keepAlive);
        _owned.Add(p);
        return p;
    }

    [Fact]
    public async Task Publish_and_subscribe_round_trip()
    {
        var inbox = new Inbox();
        var up = new TokenBucket(1e9, 1000);
        var down = new TokenBucket(1e9, 1000);
        MqttDevicePort sub = NewPort("sub", inbox, down: down);
        MqttDevicePort pub = NewPort("pub", new Inbox(), up: up);
        sub.Subscribe("ota/a");
        sub.Subscribe("ota/b/#");
        await sub.ConnectAsync(CancellationToken.None);
        await pub.ConnectAsync(CancellationToken.None);
        Assert.True(sub.IsConnected);
        await WaitSubscribedAsync(pub, sub, inbox, "ota/a");
        long sent0 = pub.MessagesSent, received0 = sub.MessagesReceived, bytes0 = sub.BytesReceived, down0 = down.TotalConsumed, up0 = up.TotalConsumed;

        byte[] buffer = Encoding.ASCII.GetBytes("xxhello-ayy");
        byte[] big = new byte[100_000];
        new Random(5).NextBytes(big);
        Assert.True(pub.Publish("ota/a", buffer, 2, 7, retain: false));
        Assert.True(pub.Publish("ota/b/c", big, 0, big.Length, retain: false));
        Assert.True(pub.Publish("other", buffer, 0, 3, retain: false));
        buffer[2] = (byte)'X'; // the port copied the bytes

        Assert.True(await Wait.UntilAsync(() => inbox.Messages.Count >= 2));
        await Task.Delay(50);
        var got = inbox.Messages.ToArray();
        Assert.Equal(2, got.Length);
        Assert.Equal("ota/a", got[0].Topic);
        Assert.Equal("hello-a", Encoding.ASCII.GetString(got[0].Payload));
        Assert.Equal("ota/b/c", got[1].Topic);
        Assert.Equal(big, got[1].Payload);
        Assert.Equal(3, pub.MessagesSent - sent0);
        Assert.Equal(2, sub.MessagesReceived - received0);
        Assert.Equal(7 + big.Length, sub.BytesReceived - bytes0);
        Assert.Equal(7 + big.Length, down.TotalConsumed - down0);
        Assert.Equal(7 + big.Length + 3, up.TotalConsumed - up0);
    }

    /// <summary>Publishes probes on <paramref name="topic"/> until the subscriber sees one, then clears its inbox.</summary>
    private static async Task WaitSubscribedAsync(MqttDevicePort pub, MqttDevicePort sub, Inbox inbox, string topic)
    {
        Assert.True(pub.Publish(topic, new byte[] { 1 }, 0, 1, false));
        Assert.True(await Wait.UntilAsync(() => !inbox.Messages.IsEmpty, 3000), "subscription never became active");
        inbox.Messages.Clear();
    }

    [Fact]
    public void Publish_when_not_connected_returns_false()
    {
        MqttDevicePort p = NewPort("lonely", new Inbox());
        Assert.False(p.IsConnected);
        Assert.False(p.Publish("t", new byte[1], 0, 1, false));
        Assert.Equal(1, p.Dropped);
    }

    [Fact]
    public async Task Publish_from_several_threads_and_from_inside_the_handler()
    {
        var inbox = new Inbox();
        MqttDevicePort echo = null!;
        echo = NewPort("echo", new Inbox(), handler: (topic, b, o, n) =>
        {
            // the handler publishes (QoS 1, waits for the ack) while MQTTnet is delivering: must not deadlock
            Assert.True(echo.Publish("echoed", b, o, n, false));
        });
        MqttDevicePort watcher = NewPort("watch", inbox);
        MqttDevicePort pub = NewPort("pub", new Inbox());
        echo.Subscribe("in");
        watcher.Subscribe("echoed");
        await echo.ConnectAsync(CancellationToken.None);
        await watcher.ConnectAsync(CancellationToken.None);
        await pub.ConnectAsync(CancellationToken.None);
        await Task.Delay(100);

        int failures = 0;
        var threads = Enumerable.Range(0, 8).Select(t => new Thread(() =>
        {
            for (int i = t; i < 40; i += 8)
            {
                if (!pub.Publish("in", BitConverter.GetBytes(i), 0, 4, false)) Interlocked.Increment(ref failures);
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.Equal(0, failures);
        Assert.True(await Wait.UntilAsync(() => inbox.Messages.Count == 40), $"got {inbox.Messages.Count} of 40 echoes");
        Assert.Equal(Enumerable.Range(0, 40), inbox.Messages.Select(m => BitConverter.ToInt32(m.Payload)).OrderBy(x => x));
        Assert.Equal(40, echo.MessagesSent);
        Assert.Equal(0, echo.HandlerErrors);
    }

    [Fact]
    public async Task Last_will_is_published_retained_when_disposed_without_disconnect()
    {
        MqttDevicePort dev = NewPort("dev-1", new Inbox(), "status/1", Encoding.ASCII.GetBytes("offline"));
        await dev.ConnectAsync(CancellationToken.None);
        Assert.True(dev.Publish("status/1", Encoding.ASCII.GetBytes("online"), 0, 6, retain: true));
        Assert.True(await Wait.UntilAsync(() => RetainedText("status/1") == "online"));

        await dev.DisposeAsync();
        Assert.True(await Wait.UntilAsync(() => RetainedText("status/1") == "offline"), "will was not published");

        // a late subscriber gets the retained will
        var inbox = new Inbox();
        MqttDevicePort late = NewPort("late", inbox);
        late.Subscribe("status/+");
        await late.ConnectAsync(CancellationToken.None);
        Assert.True(await Wait.UntilAsync(() => !inbox.Messages.IsEmpty));
        Assert.Equal("offline", Encoding.ASCII.GetString(inbox.Messages.First().Payload));
    }

    [Fact]
    public async Task Last_will_is_published_when_the_server_kicks_the_client_and_not_after_a_clean_disconnect()
    {
        MqttDevicePort dev = NewPort("dev-2", new Inbox(), "status/2", Encoding.ASCII.GetBytes("gone"));
        await dev.ConnectAsync(CancellationToken.None);
        await _server.DisconnectClientAsync("dev-2", new MqttServerClientDisconnectOptions { ReasonCode = MqttDisconnectReasonCode.UnspecifiedError });
        Assert.True(await Wait.UntilAsync(() => RetainedText("status/2") == "gone"), "will was not published on kick");

        MqttDevicePort clean = NewPort("dev-3", new Inbox(), "status/3", Encoding.ASCII.GetBytes("gone"));
        await clean.ConnectAsync(CancellationToken.None);
        await clean.DisconnectAsync();
        await Task.Delay(200);
        Assert.Null(RetainedText("status/3"));
        Assert.False(clean.IsConnected);
    }

    [Fact]
    public async Task Reconnects_after_the_server_restarts_and_subscriptions_still_work()
    {
        var inbox = new Inbox();
        MqttDevicePort sub = NewPort("sub-r", inbox);
        MqttDevicePort pub = NewPort("pub-r", new Inbox());
        sub.Subscribe("cmd/#");
        await sub.ConnectAsync(CancellationToken.None);
        await pub.ConnectAsync(CancellationToken.None);
        Assert.Equal(1, sub.Connects);

        await _server.StopAsync(new MqttServerStopOptions());
        _server.Dispose();
        Assert.True(await Wait.UntilAsync(() => !sub.IsConnected && !pub.IsConnected), "clients did not notice the stop");
        Assert.False(pub.Publish("cmd/x", new byte[1], 0, 1, false));

        _server = await StartServerAsync();
        Assert.True(await Wait.UntilAsync(() => sub.IsConnected && pub.IsConnected, 8000), "clients did not reconnect");
        Assert.True(sub.Connects >= 2);

        // the new server knows nothing of the old session: the port must have subscribed again
        bool seen = await Wait.UntilAsync(() =>
        {
            pub.Publish("cmd/go", Encoding.ASCII.GetBytes("go"), 0, 2, false);
            return inbox.Messages.Any(m => m.Topic == "cmd/go");
        }, 3000);
        Assert.True(seen, "no message after reconnect");
    }

    [Fact]
    public async Task Asks_the_broker_for_its_keep_alive_and_pings_by_itself_when_idle()
    {
        ushort? asked = null;
        int pingsSeen = 0;
        _server.ValidatingConnectionAsync += e =>
        {
            if (e.ClientId == "ka") asked = e.KeepAlivePeriod;
            return Task.CompletedTask;
        };
        _server.InterceptingInboundPacketAsync += e =>
        {
            if (e.ClientId == "ka" && e.Packet is MQTTnet.Packets.MqttPingReqPacket) Interlocked.Increment(ref pingsSeen);
            return Task.CompletedTask;
        };
        MqttDevicePort port = NewPort("ka", new Inbox(), keepAlive: TimeSpan.FromSeconds(2));
        await port.ConnectAsync(CancellationToken.None);
        Assert.Equal((ushort)2, asked); // the broker holds the device to it (and publishes its will after 3 s of silence)
        Assert.True(port.ClientKeepAliveTaskStopped, "MQTTnet's own keep-alive task (a wake-up every 250 ms) started");

        await Task.Delay(5000); // nothing sent: only pings keep the link
        Assert.True(port.IsConnected);
        Assert.Equal(1, port.Connects);
        Assert.Equal(0, port.PingFailures);
        Assert.InRange(Volatile.Read(ref pingsSeen), 1, 3);
        Assert.Equal(port.Pings, Volatile.Read(ref pingsSeen)); // every PINGREQ the broker got came from the port's own schedule

        // Traffic is a packet sent: publishing more often than the keep-alive leaves no ping to send. (From a thread of
        // its own, as a device's pump does: Publish waits for the ack, which blocking a test's pool thread delayed.)
        long pings0 = port.Pings;
        int published = 0;
        var publisher = new Thread(() =>
        {
            for (int i = 0; i < 12; i++)
            {
                if (port.Publish("ka/t", new byte[1], 0, 1, false)) published++;
                Thread.Sleep(300);
            }
        });
        publisher.Start();
        await Task.Run(publisher.Join);
        Assert.Equal(12, published);
        Assert.Equal(pings0, port.Pings);
    }

    [Fact]
    public async Task A_ping_without_answer_drops_the_link_without_disconnect_so_the_will_is_published_and_the_port_reconnects()
    {
        // The broker's own keep-alive check is off for the test (once a minute): the port must find out by itself.
        await _server.StopAsync(new MqttServerStopOptions());
        _server.Dispose();
        _server = await StartServerAsync(keepAliveMonitorInterval: TimeSpan.FromMinutes(1));
        int dropPings = 1;
        _server.InterceptingInboundPacketAsync += e =>
        {
            if (e.ClientId == "ka-lost" && e.Packet is MQTTnet.Packets.MqttPingReqPacket && Interlocked.Exchange(ref dropPings, 0) == 1)
                e.ProcessPacket = false; // this PINGREQ is lost: no PINGRESP comes
            return Task.CompletedTask;
        };
        var inbox = new Inbox();
        MqttDevicePort port = NewPort("ka-lost", inbox, willTopic: "will/ka-lost", will: Encoding.ASCII.GetBytes("gone"), keepAlive: TimeSpan.FromSeconds(2));
        port.Subscribe("ka-lost/in");
        await port.ConnectAsync(CancellationToken.None);
        Assert.Null(RetainedText("will/ka-lost"));

        Assert.True(await Wait.UntilAsync(() => port.PingFailures == 1, 10000), "the unanswered ping was not noticed");
        Assert.True(await Wait.UntilAsync(() => RetainedText("will/ka-lost") == "gone", 3000), "the broker did not publish the will");
        Assert.True(await Wait.UntilAsync(() => port.IsConnected && port.Connects == 2, 5000), "the port did not reconnect");

        // On the new link: subscribed again, and pings answered again.
        MqttDevicePort pub = NewPort("ka-pub", new Inbox());
        await pub.ConnectAsync(CancellationToken.None);
        bool seen = await Wait.UntilAsync(() =>
        {
            pub.Publish("ka-lost/in", Encoding.ASCII.GetBytes("hi"), 0, 2, false);
            return inbox.Messages.Any(m => m.Topic == "ka-lost/in");
        }, 3000);
        Assert.True(seen, "no message after the reconnect");
        long pings = port.Pings;
        Assert.True(await Wait.UntilAsync(() => port.Pings > pings + 1, 8000), "no pings on the new link");
        Assert.Equal(1, port.PingFailures);
        Assert.True(port.IsConnected);
    }

    private string? RetainedText(string topic)
    {
        MqttApplicationMessage? m = _server.GetRetainedMessageAsync(topic).GetAwaiter().GetResult();
        return m == null ? null : Encoding.ASCII.GetString(m.Payload);
    }
}
