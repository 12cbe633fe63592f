using IotOta.Simulation.Demo;
using IotOta.Gateway.Mqtt;
using IotOta.TestSupport;
using Xunit.Abstractions;

namespace IotOta.Integration.Tests.Rollouts;

/// <summary>
/// Issue #15: what crosses the first network, counted by the broker itself. A demo rollout of 30 devices in 3 groups
/// (1 MiB) against a real Mosquitto with sys_interval 1: the demo's figures are Mosquitto's $SYS/broker/bytes, and the
/// bytes the broker sent during the rollout stay within the goal, 1.05 × image + 200 bytes per device.
/// </summary>
public sealed class BrokerBytesTests(ITestOutputHelper output)
{
    private static DemoOptions Demo(string broker) => new()
    {
        Devices = 30, Groups = 3, ImageSize = 1024 * 1024, Broker = broker, Timeout = TimeSpan.FromMinutes(2),
    };

    [Fact]
    public async Task Broker_bytes_sent_during_a_rollout_at_30_devices_stay_within_the_goal()
    {
        await using var mosquitto = await MosquittoBroker.StartAsync("sys_interval 1\nmax_queued_messages 0");
        var s = await DemoRunner.RunAsync(Demo($"{mosquitto.Host}:{mosquitto.Port}"), null, output.WriteLine, CancellationToken.None);
        Assert.Equal(30, s.Updated);
        BrokerReport b = s.Broker ?? throw new Xunit.Sdk.XunitException("the demo reported no broker bytes for a Mosquitto with $SYS");
        output.WriteLine(b.Line());
        Assert.StartsWith("mosquitto $SYS", b.Source);
        // The counts are the broker's: at least the data the gateway sent through it went out, and came in.
        Assert.True(b.DataSent >= s.ImageBytes, $"data sent {b.DataSent} < image {s.ImageBytes}");
        Assert.True(b.Received >= s.ImageBytes, $"received {b.Received} < image {s.ImageBytes}");
        Assert.True(b.ControlSent > 0 && b.ControlReceived > 0);
        long goal = BrokerBytes.Goal(s.ImageBytes, 30);
        Assert.True(b.Sent <= goal, $"broker sent {b.Sent:N0} B = {b.SentPerImage:0.000} × image during the rollout; the goal is ≤ {goal:N0} B (1.05 × image + 200 B × 30)");
    }

    [Fact]
    public async Task The_embedded_broker_counts_every_kind_and_agrees_with_mosquitto()
    {
        var embedded = await DemoRunner.RunAsync(new DemoOptions { Devices = 12, Groups = 3, ImageSize = 128 * 1024 }, null, output.WriteLine, CancellationToken.None);
        await using var mosquitto = await MosquittoBroker.StartAsync("sys_interval 1\nmax_queued_messages 0");
        var real = await DemoRunner.RunAsync(new DemoOptions { Devices = 12, Groups = 3, ImageSize = 128 * 1024, Broker = $"{mosquitto.Host}:{mosquitto.Port}" },
            null, output.WriteLine, CancellationToken.None);
        Assert.Equal(12, embedded.Updated);
        Assert.Equal(12, real.Updated);
        // Data waits for the hash list: every packet reached every group only after every device held the list (the
        // engine once took the empty plan before the list for "all delivered" and reported 0.07 s at N = 1,000).
        Assert.NotNull(embedded.ListHeldSeconds);
        Assert.True(embedded.DeliveredSeconds >= embedded.ListHeldSeconds, $"delivered at {embedded.DeliveredSeconds} s, list held at {embedded.ListHeldSeconds} s");
        BrokerReport e = embedded.Broker!, m = real.Broker!;
        output.WriteLine("embedded: " + e.Line() + " " + string.Join(", ", e.SentByKind.Select(k => $"{k.Key} {k.Value}")));
        output.WriteLine("mosquitto: " + m.Line());
        Assert.StartsWith("embedded MQTTnet broker", e.Source);
        Assert.Equal(e.Sent, e.SentByKind.Values.Sum());
        Assert.Equal(e.DataSent, e.SentByKind[BrokerTraffic.DataKind]);
        Assert.Contains(BrokerTraffic.SessionKind, e.SentByKind.Keys);
        // Two brokers, two runs of the same rollout: the totals agree within 15 % (timing decides repairs, reports).
        Assert.InRange((double)e.Sent / m.Sent, 0.85, 1.15);
        Assert.InRange((double)e.Received / m.Received, 0.85, 1.15);
    }
}
