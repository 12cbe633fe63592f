using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using IotOta.Gateway;
using IotOta.Gateway.Images;
using IotOta.Gateway.Mqtt;
using IotOta.Gateway.Rollouts;
using IotOta.Shared.Protocol;
using IotOta.TestSupport;
using IotOta.VirtualDevice.Network;

namespace IotOta.FaultSuite.Fleet;

/// <summary>
/// `device-kill9`: the fleet runs as three separate OS processes (`fleet` commands of src/Simulation, each holding
/// a third of the devices, spread over the same groups) on a real Mosquitto; the gateway runs a rollout with a window.
/// When the fleet holds <see cref="FleetScenarioOptions.FaultAt"/> of the image (or the broker has carried that share of
/// the image's packets, whichever the observer sees first), fleet processes B and C get a SIGKILL.
/// B is started again on its flash files 3 s later; C only once every device of A and B runs the image. Every device
/// must complete: the returning ones resume from their persisted bitmaps and fetch the rest from their groups.
/// Measured on the broker (a passive MQTT observer, not the gateway's counters): the payload of every data packet
/// published to a device, the part of it that repeated a packet already sent (re-sent), and for each returning device
/// the time from its process's restart to its report of running the image.
/// </summary>
public static class DeviceKill9Scenario
{
    public const string Name = "device-kill9";
    public const double MaxResentFraction = 0.05;
    public const double MaxPayloadRatio = 1.1;
    /// <summary>The program whose `fleet` command runs the virtual devices.</summary>
    private const string FleetProgram = "IotOta.Simulation.dll";

    public static async Task<FleetScenarioResult> RunAsync(FleetScenarioOptions o, Action<string>? log, CancellationToken ct)
    {
        if (o.Devices < 6 || o.Groups < 1 || o.Groups > o.Devices / 3)
            throw new ArgumentException("device-kill9 needs at least 6 devices and at most devices/3 groups (three fleet processes)");
        using var dir = new TempDir("iotota-devkill9-");
        await using var broker = await MosquittoBroker.StartAsync(ct: ct);
        string keyPath = dir.File("signing.pem"), pubPath = dir.File("signing.pem.pub");
        using (var key = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
            File.WriteAllText(pubPath, key.ExportSubjectPublicKeyInfoPem());
        }
        using var signer = ManifestSigner.FromPemFile(keyPath);
        await using var observer = await BrokerObserver.StartAsync(broker.Host, broker.Port, ct);

        // Three fleet processes with a third of the devices each; every process spreads its devices over all groups,
        // so each group has members in every process.
        int[] sizes = [o.Devices / 3, o.Devices / 3, o.Devices - 2 * (o.Devices / 3)];
        var nodes = new List<uint>[3];
        var fleets = new GatewayProcess?[3];
        string[][] args = new string[3][];
        for (int p = 0; p < 3; p++)
        {
            int first = 1 + p * 1000;
            nodes[p] = Enumerable.Range(first, sizes[p]).Select(n => (uint)n).ToList();
            args[p] =
            [
                "fleet", "--broker", $"{broker.Host}:{broker.Port}", "--trust", pubPath, "--devices", sizes[p].ToString(CultureInfo.InvariantCulture),
                "--groups", o.Groups.ToString(CultureInfo.InvariantCulture), "--first-node", first.ToString(CultureInfo.InvariantCulture),
                "--data-dir", dir.File("fleet" + p),
            ];
        }
        try
        {
            for (int p = 0; p < 3; p++) fleets[p] = GatewayProcess.Start(args[p], new Dictionary<string, string>(), FleetProgram);
            await using var gw = MqttGatewayNode.Create(broker.Host, broker.Port, pace: new TokenBucket(o.GatewayUpBytesPerSecond, 16 * 1024).ConsumeAsync, log: log);
            await gw.StartAsync(ct);
            try
            {
                await gw.WaitForDevicesAsync(o.Devices, TimeSpan.FromSeconds(90), ct);
            }
            catch (TimeoutException e)
            {
                throw new TimeoutException(e.Message + "\n" + string.Join("\n", fleets.Select(f => f?.Log)), e);
            }
            await Task.Delay(1000, ct); // member lists reach every device
            byte[] bytes = FleetFaultSuite.Image(o);
            var version = new FirmwareVersion(2, 0, 0);
            var image = FirmwareImage.Create(bytes, version, signer, o.ChunkSize);
            observer.ImageId = image.ImageId;
            var all = nodes.SelectMany(n => n).ToList();
            var run = gw.RunRolloutAsync(image, RolloutOptionsFor(o), null, ct);
            while (gw.CurrentRollout == null && !run.IsCompleted) await Task.Delay(5, ct);
            var scheduler = gw.CurrentRollout?.Scheduler;

            // Strike at FaultAt of the fleet's packets, or once the broker has carried FaultAt of the image's packets:
            // protocol v2 devices report progress at most every DeviceConfig.ProgressIntervalMs (10 s, counted from the first unreported packet) while receiving
            // and notice only the packets they were sent by the gateway, so on a rollout of a few seconds the reports
            // alone arrive after the end; in cross-group mode one copy of each packet reaches the whole fleet, so the
            // share of the image's packets sent is the fleet's share a moment later.
            var strike = Stopwatch.StartNew();
            long need = (long)(o.FaultAt * image.ChunkCount * o.Devices);
            int needSent = (int)Math.Ceiling(o.FaultAt * image.ChunkCount);
            while (observer.HeldPackets(all, image.ChunkCount, version) < need && observer.DistinctPacketsSent < needSent)
            {
                if (run.IsCompleted) break;
                if (strike.Elapsed > o.Timeout) throw new TimeoutException($"the fleet did not reach {o.FaultAt:P0} of its packets within {o.Timeout.TotalSeconds:0} s");
                await Task.Delay(10, ct);
            }
            long heldAtKill = observer.HeldPackets(all, image.ChunkCount, version);
            long resentBeforeKill = observer.ResentBytes;
            double killAt = observer.Now;
            fleets[1]!.Kill();
            fleets[2]!.Kill();
            int exitB = fleets[1]!.ExitCode, exitC = fleets[2]!.ExitCode;
            long heldB = observer.HeldPackets(nodes[1], image.ChunkCount, version), heldC = observer.HeldPackets(nodes[2], image.ChunkCount, version);
            log?.Invoke($"fleet processes B and C killed (exit codes {exitB}, {exitC}) with {heldAtKill} of {(long)image.ChunkCount * o.Devices} packets held");

            await Task.Delay(TimeSpan.FromSeconds(3), ct);
            fleets[1]!.Dispose();
            fleets[1] = GatewayProcess.Start(args[1], new Dictionary<string, string>(), FleetProgram);
            var restartB = Stopwatch.StartNew();
            double restartBAt = observer.Now;
            long resentAtB = observer.ResentBytes;
            var recovery = new Dictionary<uint, double>();
            var startedAt = nodes[1].ToDictionary(n => n, _ => restartB);

            // C stays down until every device of A and B runs the image (or the rollout ended without them).
            bool abDone = await WaitUpdatedAsync(observer, nodes[0].Concat(nodes[1]).ToList(), version, o.Timeout, startedAt, recovery, run, ct);
            log?.Invoke($"A and B {(abDone ? "updated" : "not all updated")} {restartB.Elapsed.TotalSeconds:0.0} s after B's restart; starting C again");
            fleets[2]!.Dispose();
            bool rolloutEndedBeforeC = run.IsCompleted;
            fleets[2] = GatewayProcess.Start(args[2], new Dictionary<string, string>(), FleetProgram);
            var restartC = Stopwatch.StartNew();
            double restartCAt = observer.Now;
            long resentAtC = observer.ResentBytes, payloadAtC = observer.GatewayPayloadBytes;
            foreach (uint n in nodes[2]) startedAt[n] = restartC;
            await WaitUpdatedAsync(observer, all, version, o.Timeout, startedAt, recovery, null, ct);

            RolloutResult? result = null;
            string rolloutState;
            if (await Task.WhenAny(run, Task.Delay(o.Timeout, ct)) == run)
            {
                result = await run;
                rolloutState = $"rollout ended: {result.Updated}/{result.Devices} updated, {result.Failed} failed, {result.Pending} pending{(result.TimedOut ? ", timed out" : "")} " +
                    $"({result.Reallocations} reallocations, {scheduler?.OrdersWithdrawn} orders withdrawn (device gone before they went out), {scheduler?.DeliveriesOrphaned} deliveries orphaned by devices that left ({scheduler?.OrphansReplanned} of them planned again, {scheduler?.OrphansRescued} brought in from another group by a cross-group donor order), {result.DeliveriesSkipped} skipped as held, " +
                    $"{result.OriginalsSent} originals, {result.RepairCopiesSent} repair copies, engine-counted re-sent {result.ResentBytes})";
            }
            else rolloutState = "rollout still running";
            int updated = all.Count(n => observer.Device(n) is { } d && BrokerObserver.IsUpdated(d, version));
            long payload = observer.GatewayPayloadBytes, resent = observer.ResentBytes;
            double maxRecovery = recovery.Count == 0 ? 0 : recovery.Values.Max();
            bool completed = updated == o.Devices && result is { TimedOut: false, Outcome: RolloutOutcome.AllUpdated } r && r.Updated == o.Devices
                && !rolloutEndedBeforeC && observer.Malformed == 0;
            var returning = nodes[1].Concat(nodes[2]).ToList();
            if (log != null) LogResends(observer, log, killAt, restartBAt, restartCAt, nodes);
            if (log != null && updated != o.Devices)
            {
                foreach (var d in observer.Devices()) log($"device {d.Node} g{d.Group}: online={d.Online} state={d.State} held {d.HeldCount}/{d.ChunkCount}");
                for (int p = 0; p < 3; p++) log($"fleet process {p}:\n" + string.Join("\n", (fleets[p]?.Log ?? "").Split('\n').TakeLast(60)));
            }
            long catchUp = payload - payloadAtC;
            string perDevice = string.Join(", ", returning.Select(n => recovery.TryGetValue(n, out double s) ? $"{n}:{s:0.00}" : $"{n}:-"));
            return new FleetScenarioResult(Name, completed, resent, bytes.Length, maxRecovery, updated, o.Devices, payload,
                $"fleet processes B ({nodes[1].Count} devices, {heldB} packets held) and C ({nodes[2].Count}, {heldC}) killed with SIGKILL " +
                $"(exit codes {exitB}, {exitC}) at {heldAtKill} of {(long)image.ChunkCount * o.Devices} packets; B back after 3 s, C after A and B " +
                $"were {(abDone ? "updated" : "NOT all updated")}{(rolloutEndedBeforeC ? " (the rollout had ended before C came back)" : "")}; {rolloutState}; " +
                $"broker carried {payload} payload bytes to devices ({(double)payload / bytes.Length:0.000}× image), {resent} re-sent ({resentBeforeKill} before the kill, {resentAtB} by B's restart, {resentAtC} by C's) " +
                $"({100.0 * resent / bytes.Length:0.00} % of the image; {observer.ResentRepairBytes} of it as repair copies; {observer.RepairCopies} repair copies in all), " +
                $"{observer.DonorOrders} donor orders; C's catch-up cost the gateway {catchUp} payload bytes ({100.0 * catchUp / bytes.Length:0.00} % of the image); recovery seconds per returning device: {perDevice}")
            {
                MaxResentFraction = MaxResentFraction,
                MaxPayloadRatio = MaxPayloadRatio,
                RecoveryPerDevice = recovery,
                CatchUpPayloadBytes = catchUp,
            };
        }
        finally
        {
            foreach (var f in fleets) f?.Dispose();
        }
    }

    /// <summary>Diagnostics (--verbose): for each packet sent again, when (seconds after the kill), to whom, who had
    /// reported holding it by then, and which killed devices held it when they came back (their persisted bitmaps).</summary>
    private static void LogResends(BrokerObserver observer, Action<string> log, double killAt, double restartBAt, double restartCAt, List<uint>[] nodes)
    {
        static bool Has(byte[]? bits, int k) => bits != null && (k >> 3) < bits.Length && (bits[k >> 3] & (1 << (k & 7))) != 0;
        string G(uint n) => $"{n}/g{observer.Device(n)?.Group}";
        foreach (var r in observer.Resends())
        {
            var b = nodes[1].Where(n => Has(observer.HeldAfter(n, restartBAt), r.Index)).Select(G);
            var c = nodes[2].Where(n => Has(observer.HeldAfter(n, restartCAt), r.Index)).Select(G);
            var aBefore = nodes[0].Where(n => Has(observer.HeldBefore(n, r.At), r.Index)).Select(G);
            var aAtKill = nodes[0].Where(n => Has(observer.HeldAfter(n, killAt), r.Index)).Select(G);
            log($"resend t={r.At - killAt:+0.000;-0.000}s k={r.Index} to {G(r.Dest)}{(r.Repair ? " (repair)" : "")}: known holders [{string.Join(" ", r.KnownHolders.Select(G))}], " +
                $"A reported before [{string.Join(" ", aBefore)}], A's first report after the kill [{string.Join(" ", aAtKill)}], B at restart [{string.Join(" ", b)}], C at restart [{string.Join(" ", c)}]");
        }
    }

    /// <summary>The rollout as an operator would start it: a window in which offline devices are pending.</summary>
    private static RolloutOptions RolloutOptionsFor(FleetScenarioOptions o) => new() { Window = o.Timeout };

    /// <summary>Polls the observer until every node reports the version (true) or the timeout passes, the given task
    /// ended first (false). Records for each node the seconds from its start to its first report of the version.</summary>
    private static async Task<bool> WaitUpdatedAsync(BrokerObserver observer, List<uint> nodes, FirmwareVersion version, TimeSpan timeout,
        Dictionary<uint, Stopwatch> startedAt, Dictionary<uint, double> recovery, Task? stopWhenDone, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            bool all = true;
            foreach (uint n in nodes)
            {
                bool up = observer.Device(n) is { } d && BrokerObserver.IsUpdated(d, version);
                if (up && startedAt.TryGetValue(n, out var s) && !recovery.ContainsKey(n)) recovery[n] = s.Elapsed.TotalSeconds;
                all &= up;
            }
            if (all) return true;
            if (sw.Elapsed > timeout || stopWhenDone is { IsCompleted: true }) return false;
            await Task.Delay(50, ct);
        }
    }
}
