using System.Diagnostics;
using IotOta.Shared.Protocol;
using IotOta.TestSupport;
using IotOta.VirtualDevice.Host;

namespace IotOta.FaultSuite.Fleet;

public static partial class FleetFaultSuite
{
    /// <summary>
    /// One group cut off mid-rollout for <see cref="FleetScenarioOptions.Partition"/>, then healed. Every group reaches
    /// Mosquitto through its own <see cref="SeverableTcpProxy"/> (its site's uplink); the cut resets the group's MQTT
    /// connections (the broker publishes their last wills) and refuses new ones until the heal. With the group off the
    /// destination list the gateway names no relay into or out of it, so it is cut off from the other groups as well;
    /// its own peer links stay up. The devices reconnect by themselves after the heal and the rollout — which waits for
    /// offline targets — completes. recoverySeconds runs from the heal to the rollout's end.
    /// </summary>
    public static async Task<FleetScenarioResult> PartitionAsync(FleetScenarioOptions o, Action<string>? log, CancellationToken ct)
    {
        if (o.PartitionGroup < 1 || o.PartitionGroup > o.Groups) throw new ArgumentException($"partition group {o.PartitionGroup} is not one of 1..{o.Groups}");
        await using var rig = await StartRigAsync(o, log, ct);
        var proxies = new List<SeverableTcpProxy>();
        for (int g = 1; g <= o.Groups; g++)
        {
            var p = new SeverableTcpProxy(rig.Broker.Host, rig.Broker.Port);
            proxies.Add(p);
            rig.Links.Add(p);
        }
        var (gw, bytes, image, run) = await RolloutUntilFaultAsync(rig, o, log, ct, i => proxies[VirtualFleet.GroupOf(i + 1, o.Groups) - 1].Port);
        var cut = proxies[o.PartitionGroup - 1];
        var cutDevices = rig.Fleet!.Devices.Where(d => d.GroupId == o.PartitionGroup).ToList();
        long connectsBefore = cutDevices.Sum(d => d.Mqtt.Connects);
        cut.Sever();
        log?.Invoke($"group {o.PartitionGroup} cut off ({cut.Cut} connections reset) for {o.Partition.TotalSeconds:0.#} s");
        // The gateway hears the group's last wills; the rest of the fleet goes on meanwhile.
        var offlineSeen = 0;
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < o.Partition)
        {
            offlineSeen = Math.Max(offlineSeen, cutDevices.Count(d => gw.Registry.Get(d.NodeId) is { Online: false }));
            await Task.Delay(50, ct);
        }
        int othersUpdatedAtHeal = rig.Fleet.Devices.Count(d => d.GroupId != o.PartitionGroup && d.Agent.State == DeviceState.Updated);
        long cutHeldAtHeal = cutDevices.Sum(d => (long)d.Agent.HeldCount);
        cut.Heal();
        var recovery = Stopwatch.StartNew();
        var result = await run;
        int updated = await WaitAllUpdatedAsync(rig.Fleet, bytes, TimeSpan.FromSeconds(30), ct);
        double secs = recovery.Elapsed.TotalSeconds;
        long reconnects = cutDevices.Sum(d => d.Mqtt.Connects) - connectsBefore;
        bool completed = !result.TimedOut && updated == o.Devices && reconnects >= cutDevices.Count;
        return new FleetScenarioResult("partition", completed, result.ResentBytes, bytes.Length, secs, updated, o.Devices, result.GatewayPayloadBytes,
            $"group {o.PartitionGroup} ({cutDevices.Count} devices) cut off for {o.Partition.TotalSeconds:0.#} s: {offlineSeen}/{cutDevices.Count} seen offline, " +
            $"{cut.Refused} reconnects refused, {reconnects} reconnects after the heal; at the heal it held {cutHeldAtHeal} of {(long)cutDevices.Count * image.ChunkCount} packets " +
            $"and {othersUpdatedAtHeal}/{o.Devices - cutDevices.Count} other devices were updated; {result.OriginalsSent} originals, {result.RepairCopiesSent} repair copies");
    }
}
