using System.Diagnostics;
using IotOta.Gateway.Rollouts;
using IotOta.Shared.Protocol;
using IotOta.TestSupport;
using MQTTnet;

namespace IotOta.FaultSuite.Fleet;

public static partial class FleetFaultSuite
{
    /// <summary>The Mosquitto broker (no persistence: retained messages are lost) stops mid-rollout and starts again on
    /// the same port; gateway and devices reconnect by themselves and the gateway publishes manifest and member lists again.</summary>
    public static async Task<FleetScenarioResult> BrokerRestartAsync(FleetScenarioOptions o, Action<string>? log, CancellationToken ct)
    {
        await using var rig = await StartRigAsync(o, log, ct);
        var (gw, bytes, image, run) = await RolloutUntilFaultAsync(rig, o, log, ct);
        rig.Broker.Stop();
        await Task.Delay(o.BrokerDown, ct);
        await rig.Broker.StartProcessAsync(ct);
        var recovery = Stopwatch.StartNew();
        var result = await run;
        int updated = await WaitAllUpdatedAsync(rig.Fleet!, bytes, TimeSpan.FromSeconds(20), ct);
        double secs = recovery.Elapsed.TotalSeconds;
        // The retained messages are back: a new subscriber gets every group's manifest and member list.
        var (manifests, lists) = await RetainedAsync(rig.Broker, o.Groups, ct);
        bool completed = !result.TimedOut && updated == o.Devices && manifests == o.Groups && lists == o.Groups;
        return new FleetScenarioResult("broker-restart", completed, result.ResentBytes, bytes.Length, secs, updated, o.Devices, result.GatewayPayloadBytes,
            $"resent as repairs {result.ResentRepairBytes}; {result.OriginalsSent} originals, {result.RepairCopiesSent} repair copies; gateway reconnects {gw.Reconnects}; engine republished manifests {result.Reconnects}x; retained after restart: {manifests}/{o.Groups} manifests, {lists}/{o.Groups} member lists");
    }

    /// <summary>Counts the groups whose manifest and member list a fresh subscriber receives as retained messages.</summary>
    public static async Task<(int Manifests, int MemberLists)> RetainedAsync(MosquittoBroker broker, int groups, CancellationToken ct)
    {
        using var client = new MqttClientFactory().CreateMqttClient();
        var seen = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        client.ApplicationMessageReceivedAsync += e =>
        {
            if (e.ApplicationMessage.Retain && e.ApplicationMessage.Payload.Length > 0) seen[e.ApplicationMessage.Topic] = 1;
            return Task.CompletedTask;
        };
        await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(broker.Host, broker.Port).WithClientId("fleet-check-" + Guid.NewGuid().ToString("N")[..6]).Build(), ct);
        var sub = new MqttClientSubscribeOptionsBuilder();
        for (int g = 1; g <= groups; g++) sub = sub.WithTopicFilter(Topics.GroupManifest(g)).WithTopicFilter(Topics.GroupMembers(g));
        await client.SubscribeAsync(sub.Build(), ct);
        await Task.Delay(500, ct);
        await client.DisconnectAsync();
        int m = Enumerable.Range(1, groups).Count(g => seen.ContainsKey(Topics.GroupManifest(g)));
        int l = Enumerable.Range(1, groups).Count(g => seen.ContainsKey(Topics.GroupMembers(g)));
        return (m, l);
    }
}
