using System.Diagnostics;
using IotOta.Gateway;
using IotOta.Simulation.Demo;
using IotOta.Gateway.Mqtt;
using IotOta.TestSupport;
using IotOta.VirtualDevice.Host;

using Xunit.Abstractions;

namespace IotOta.ScaleOut.Tests.Ejabberd;

/// <summary>
/// A 2-node ejabberd cluster on this machine (ejabberd_admin:join_cluster): the gateway on node 1, half the fleet on
/// node 2. Node 2 does not get the retained messages the gateway publishes on node 1, so a device that restarts there
/// gets its rollout state from the gateway's answer; then node 2 is killed mid-rollout, its devices fail over to node 1,
/// and the rollout completes.
/// </summary>
public sealed class EjabberdClusterTests(ITestOutputHelper output)
{
    private const int Devices = EjabberdSingleNodeTests.Devices;

    [Fact]
    public async Task Rollout_completes_on_a_2_node_cluster_when_the_node_of_half_the_fleet_is_killed()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        string cookie = "iotota-" + Guid.NewGuid().ToString("N")[..12];
        await using var node1 = await EjabberdNode.StartAsync(cookie, ct: cts.Token);
        await using var node2 = await EjabberdNode.StartAsync(cookie, ct: cts.Token);
        await node2.JoinClusterAsync(node1, cts.Token);
        string cluster = await node1.ListClusterAsync(cts.Token);
        Assert.Contains(node2.NodeName, cluster);
        string password = "gw-" + Guid.NewGuid().ToString("N")[..10];
        await node1.RegisterAsync(EjabberdSingleNodeTests.Accounts(password), cts.Token); // Mnesia replicates the accounts

        await using var wire1 = new SeverableTcpProxy(node1.Host, node1.Port);
        await using var wire2 = new SeverableTcpProxy(node2.Host, node2.Port);
        var ep1 = new MqttEndpoint(wire1.Host, wire1.Port);
        var ep2 = new MqttEndpoint(wire2.Host, wire2.Port);
        var settings = new MqttBrokerSettings
        {
            Endpoints = [ep1, ep2],
            Username = EjabberdSingleNodeTests.GatewayUser,
            Password = password,
            Devices = EjabberdSingleNodeTests.DeviceCredentials,
            SpreadDevices = true, // odd nodes start on node 1, even nodes on node 2
        };
        var log = new List<string>();
        double failoverSeconds = -1;
        int onNode2 = 0;
        long answers = 0, switchesBefore = 0, heldAtKill = 0;
        int atKill = 0;
        DemoSummary s = await DemoRunner.RunAsync(new DemoOptions
        {
            Devices = Devices,
            Groups = EjabberdSingleNodeTests.Groups,
            ImageSize = 2 * 1024 * 1024,
            GatewayUpKbps = 4000, // 500 kB/s: the rollout lasts a few seconds, long enough to lose a node in the middle
            Broker = $"{ep1},{ep2}",
            BrokerSettings = settings,
            Timeout = TimeSpan.FromMinutes(3),
        }, null, m => { lock (log) log.Add(m); }, async (fleet, gateway) =>
        {
            var second = fleet.Devices.Where(d => d.Mqtt.Endpoint == ep2).ToList();
            onNode2 = second.Count;
            // A device on node 2 reboots: node 2 holds no retained manifest, member list or table of this rollout.
            int rebooted = fleet.Devices.ToList().FindIndex(d => d.Mqtt.Endpoint == ep2);
            await fleet.RestartDeviceAsync(rebooted, TimeSpan.FromMilliseconds(200), cts.Token);
            // Its state comes from the gateway's answer (after the grace), before node 2 goes.
            var deadline = DateTime.UtcNow.AddSeconds(15);
            while (gateway.CatchUp!.Answers == 0 && DateTime.UtcNow < deadline) await Task.Delay(50, cts.Token);
            answers = gateway.CatchUp!.Answers;
            var moved = fleet.Devices.Where(d => d.Mqtt.IsConnected && d.Mqtt.Endpoint == ep2).ToList();
            atKill = moved.Count;
            switchesBefore = fleet.Devices.Sum(d => d.Mqtt.EndpointSwitches);
            heldAtKill = fleet.Devices.Sum(d => (long)d.Agent.HeldCount);
            var watch = Stopwatch.StartNew(); // from the kill (Kill waits for the process to be gone)
            node2.Kill();
            deadline = DateTime.UtcNow.AddSeconds(30);
            while (!moved.All(d => d.Mqtt.IsConnected && d.Mqtt.Endpoint == ep1) && DateTime.UtcNow < deadline) await Task.Delay(20, cts.Token);
            failoverSeconds = watch.Elapsed.TotalSeconds;
        }, cts.Token);

        long wireSent = wire1.BytesFromTarget + wire2.BytesFromTarget;
        output.WriteLine($"ejabberd 2-node cluster: {s.Updated}/{s.Devices} updated in {s.Seconds:0.00} s; {onNode2} devices started on node 2; " +
                         $"gateway answers to devices that missed retained state: {answers}; node 2 killed with {atKill} devices connected to it ({heldAtKill} packets held in the fleet; {switchesBefore} endpoint switches before) → all on node 1 after {failoverSeconds:0.00} s; " +
                         $"gateway payload {s.GatewayPayloadBytes} B ({s.GatewayPayloadPerImage:0.000}× image of {s.ImageBytes} B); " +
                         $"brokers sent {wireSent} B on the wire ({(double)wireSent / s.ImageBytes:0.00}× image: node 1 {wire1.BytesFromTarget}, node 2 {wire2.BytesFromTarget})");
        string context = $"log tail:\n{string.Join("\n", log.TakeLast(40))}\n{node1.Output}";
        Assert.True(onNode2 >= Devices / 2 - 1, $"only {onNode2} devices on node 2\n{context}");
        Assert.True(answers >= 1, $"the rebooted device on node 2 got no answer from the gateway\n{context}");
        Assert.True(atKill >= Devices / 4, $"only {atKill} devices were on node 2 when it was killed\n{context}");
        Assert.InRange(failoverSeconds, 0, 29.9);
        Assert.True(s.Updated == Devices, $"{s.Updated}/{Devices} updated\n{context}");
        Assert.Equal(Devices, s.SlotsVerified);
    }
}
