using System.Diagnostics;
using IotOta.Shared.Protocol;
using IotOta.VirtualDevice.Host;
using IotOta.VirtualDevice.Platform;

namespace IotOta.FaultSuite.Fleet;

public static partial class FleetFaultSuite
{
    /// <summary>Devices the gateway has never seen (new node ids, a seeded tenth of the fleet, at least one) join
    /// mid-rollout: the destination list and member lists take them, they get the retained manifest of their group and
    /// the image (originals still to come, the rest from their group's peers), and the rollout ends only when they
    /// run it too. The rollout is paused (no originals, no repairs) from the fault point until they are on the destination
    /// list, so that they join mid-rollout however fast the machine is.</summary>
    public static async Task<FleetScenarioResult> LateJoinAsync(FleetScenarioOptions o, Action<string>? log, CancellationToken ct)
    {
        await using var rig = await StartRigAsync(o, log, ct);
        var (gw, bytes, image, run) = await RolloutUntilFaultAsync(rig, o, log, ct);
        // Held at the fault point until the new devices are on the destination list: on a fast machine the rest of a small
        // rollout takes less time than starting a device, and the join would land after the end (a CI run did).
        var engine = gw.CurrentRollout;
        bool paused = engine?.Pause() == true;
        int n = Math.Max(1, (int)Math.Round(o.Devices * o.ChurnFraction));
        var verifier = new EcdsaSignatureVerifier();
        verifier.Add(rig.Signer.KeyId, rig.Signer.PublicKey());
        var recovery = Stopwatch.StartNew();
        await using var late = await VirtualFleet.StartAsync(n, Math.Min(n, o.Groups), rig.Broker.Host, rig.Broker.Port, Path.Combine(rig.Dir.Path, "late"),
            verifier, null, new FirmwareVersion(1, 0, 0), null, ct, firstNodeId: o.Devices + 1);
        bool seen = false;
        var sw = Stopwatch.StartNew();
        while (!seen && sw.Elapsed < TimeSpan.FromSeconds(15))
        {
            seen = late.Devices.All(d => gw.Destinations.Members.Any(m => m.NodeId == d.NodeId));
            await Task.Delay(20, ct);
        }
        bool joinedMidRollout = !run.IsCompleted;
        if (paused) engine!.Resume();
        var result = await run;
        int updated = await WaitAllUpdatedAsync(rig.Fleet!, bytes, TimeSpan.FromSeconds(30), ct);
        int lateUpdated = await WaitAllUpdatedAsync(late, bytes, TimeSpan.FromSeconds(30), ct);
        double secs = recovery.Elapsed.TotalSeconds;
        bool completed = !result.TimedOut && joinedMidRollout && seen && updated == o.Devices && lateUpdated == n && result.Updated == o.Devices + n;
        return new FleetScenarioResult("late-join", completed, result.ResentBytes, bytes.Length, secs, updated + lateUpdated, o.Devices + n, result.GatewayPayloadBytes,
            $"{n} new device(s) joined mid-rollout ({(joinedMidRollout ? "before" : "after")} it ended; on the destination list: {seen}), {lateUpdated}/{n} of them updated; " +
            $"the rollout counted {result.Updated}/{result.Devices}; {result.RepairCopiesSent} repair copies");
    }
}
