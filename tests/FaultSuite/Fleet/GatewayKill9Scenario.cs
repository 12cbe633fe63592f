using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using IotOta.Simulation.Fleet;
using IotOta.Gateway.Images;
using IotOta.Shared.Protocol;
using IotOta.TestSupport;
using IotOta.VirtualDevice.Host;
using IotOta.VirtualDevice.Platform;

namespace IotOta.FaultSuite.Fleet;

/// <summary>
/// `gateway-kill9`: the gateway runs as its own OS process (`serve --devices 0` on a real Mosquitto with a SQLite
/// file), a rollout is started through its REST API against a virtual fleet in this process, and mid-rollout the
/// process gets a SIGKILL. The same command is started again on the same file; it must resume the rollout to the end.
/// resentBytes is counted from what the devices receive: an MQTT observer sees every packet the gateway publishes to a
/// device after the restart, and a packet counts as re-sent when that device held it already before the new process
/// was started (a snapshot of each device's held packets taken right after the kill).
/// <para>With a PostgreSQL connection string (`gateway-standby`) both processes run on that database from the start:
/// the second waits as a standby behind the first's lease and takes over by itself after the kill; the result's
/// detail gives the takeover time (kill → the standby's GET /api/gateway answers "active").</para>
/// </summary>
public static class GatewayKill9Scenario
{
    public const string Name = "gateway-kill9";
    public const string StandbyName = "gateway-standby";

    /// <summary>The CI size of both variants: 6 devices in 3 groups, a 160 KiB image, the gateway's upload limited to
    /// 200 kB/s so that the kill at 40 % lands mid-rollout.</summary>
    public static FleetScenarioOptions SmallOptions => new()
    {
        Devices = 6,
        Groups = 3,
        ImageSize = 160 * 1024,
        GatewayUpBytesPerSecond = 200_000,
        FaultAt = 0.4,
        Timeout = TimeSpan.FromSeconds(90),
    };

    public static async Task<FleetScenarioResult> RunAsync(FleetScenarioOptions o, Action<string>? log, CancellationToken ct, string? standbyOnPostgres = null)
    {
        bool standby = standbyOnPostgres != null;
        var dir = new TempDir("iotota-kill9-");
        string keyPath = dir.File("signing.pem");
        using (var key = ECDsa.Create(ECCurve.NamedCurves.nistP256)) File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        MosquittoBroker broker;
        try
        {
            broker = await MosquittoBroker.StartAsync(ct: ct);
        }
        catch
        {
            dir.Dispose();
            throw;
        }
        await using var rig = new FleetFaultSuite.Rig { Broker = broker, Dir = dir, Signer = ManifestSigner.FromPemFile(keyPath) };

        string url = $"http://127.0.0.1:{FreePort.Get()}";
        string url2 = standby ? $"http://127.0.0.1:{FreePort.Get()}" : url;
        string password = Convert.ToHexString(RandomNumberGenerator.GetBytes(12));
        string[] store = standby ? ["--storage", "postgres"] : ["--database", dir.File(Path.Combine("gateway", "iotota.db"))];
        string[] args =
        [
            "serve", "--urls", url, "--devices", "0", "--broker", $"{broker.Host}:{broker.Port}", "--key", keyPath, .. store,
            "--gateway-up-kbps", (o.GatewayUpBytesPerSecond * 8 / 1000).ToString(CultureInfo.InvariantCulture),
            "--chunk-size", o.ChunkSize.ToString(CultureInfo.InvariantCulture),
            "--max-image-bytes", Math.Max(o.ImageSize, 1024).ToString(CultureInfo.InvariantCulture),
        ];
        var env = new Dictionary<string, string> { ["IotOta__Admin__User"] = "fault", ["IotOta__Admin__Password"] = password };
        if (standby) env["ConnectionStrings__IotOta"] = standbyOnPostgres!;
        using var http = GatewayProcess.Client(url, "fault", password);
        using var http2 = GatewayProcess.Client(url2, "fault", password);
        string[] args2 = standby ? args.Select(a => a == url ? url2 : a).ToArray() : args;

        using var gw1 = GatewayProcess.Start(args, env);
        await gw1.WaitReadyAsync(http, TimeSpan.FromSeconds(90), ct);
        log?.Invoke($"gateway process {gw1.Id} serving {url}");
        GatewayProcess? waiting = null;
        string standbySaw = "";
        if (standby)
        {
            waiting = GatewayProcess.Start(args2, env);
            standbySaw = await WaitRoleAsync(http2, "standby", waiting, TimeSpan.FromSeconds(90), ct);
            log?.Invoke($"gateway process {waiting.Id} on {url2}: {standbySaw}");
        }

        var verifier = new EcdsaSignatureVerifier();
        verifier.Add(rig.Signer.KeyId, rig.Signer.PublicKey());
        rig.Fleet = await VirtualFleet.StartAsync(o.Devices, o.Groups, broker.Host, broker.Port, dir.File("fleet"), verifier, null,
            new FirmwareVersion(1, 0, 0), null, ct);
        await WaitOnlineAsync(http, o.Devices, gw1, ct);
        await MemberLists.WaitCompleteAsync(rig.Fleet.Devices, TimeSpan.FromSeconds(15), ct);

        byte[] bytes = FleetFaultSuite.Image(o);
        var image = await PostAsync(http, "/api/images", Form(bytes, "2.0.0"), ct);
        string imageId = (string)image["id"]!;
        int chunks = (int)image["chunkCount"]!;
        uint wireImageId = uint.Parse(imageId, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        var rollout = await PostAsync(http, "/api/rollouts?start=true",
            JsonContent.Create(new { imageId, timeoutSeconds = (int)o.Timeout.TotalSeconds }), ct);
        string rolloutId = (string)rollout["id"]!;

        await FleetFaultSuite.WaitForFractionAsync(rig.Fleet, chunks, o.FaultAt, o.Timeout, ct);

        int pid1 = gw1.Id;
        gw1.Kill();
        // What each device holds once the gateway is dead: anything the new process sends of it is a re-send.
        var heldBefore = rig.Fleet.Devices.ToDictionary(d => d.NodeId,
            d => d.IsStopped || d.Agent.CurrentImageId != wireImageId ? new bool[chunks] : Enumerable.Range(0, chunks).Select(d.Agent.Holds).ToArray());
        long heldAtKill = heldBefore.Values.Sum(h => (long)h.Count(x => x));
        log?.Invoke($"gateway process {pid1} killed (exit code {gw1.ExitCode}) with {heldAtKill} of {(long)chunks * o.Devices} packets held in the fleet");

        var recovery = Stopwatch.StartNew();
        using var observer = GatewayPacketObserver.Start(rig.Fleet);
        using var gw2 = waiting ?? GatewayProcess.Start(args, env);
        string takeover = "";
        if (standby)
        {
            string active = await WaitRoleAsync(http2, "active", gw2, TimeSpan.FromSeconds(60), ct);
            takeover = $"standby process {gw2.Id} ({standbySaw}) answered {active} {recovery.Elapsed.TotalSeconds:0.00} s after the kill; ";
        }
        await gw2.WaitReadyAsync(http2, TimeSpan.FromSeconds(90), ct);
        if (standby) takeover += $"its API served the fleet {recovery.Elapsed.TotalSeconds:0.00} s after the kill; ";
        var view = await WaitEndAsync(http2, rolloutId, o.Timeout, gw2, ct);
        int updated = await FleetFaultSuite.WaitAllUpdatedAsync(rig.Fleet, bytes, TimeSpan.FromSeconds(20), ct);
        double secs = recovery.Elapsed.TotalSeconds;

        var mine = observer.Received().Where(p => p.ImageId == wireImageId).ToList();
        // A packet is re-sent when its device held it before the new process started, when the new process sent it
        // to that device before, or when the device held it already as it arrived (from a peer since the restart).
        var first = new HashSet<(uint, int)>();
        long resent = 0, heldBeforeBytes = 0, repeatBytes = 0, arrivedHeldBytes = 0, received = 0;
        int repairs = 0;
        var repeatKinds = new Dictionary<string, int>();
        var lastKind = new Dictionary<(uint, int), bool>();
        foreach (var p in mine)
        {
            received += p.PayloadLength;
            if (p.Repair) repairs++;
            bool before = heldBefore.TryGetValue(p.Node, out var h) && p.Index >= 0 && p.Index < h.Length && h[p.Index];
            bool repeat = !first.Add((p.Node, p.Index));
            if (repeat)
            {
                string kind = (lastKind[(p.Node, p.Index)] ? "repair" : "original") + "→" + (p.Repair ? "repair" : "original");
                repeatKinds[kind] = repeatKinds.GetValueOrDefault(kind) + 1;
            }
            lastKind[(p.Node, p.Index)] = p.Repair;
            if (before) heldBeforeBytes += p.PayloadLength;
            else if (repeat) repeatBytes += p.PayloadLength;
            else if (p.HeldOnArrival) arrivedHeldBytes += p.PayloadLength;
            if (before || repeat || p.HeldOnArrival) resent += p.PayloadLength;
        }
        string state = (string)view["state"]!;
        long gatewayPayload = (long)view["gatewayPayloadBytes"]!;
        bool completed = state == "completed" && updated == o.Devices;
        return new FleetScenarioResult(standby ? StandbyName : Name, completed, resent, bytes.Length, secs, updated, o.Devices, received,
            $"gateway process {pid1} killed with SIGKILL (exit code {gw1.ExitCode}) holding {heldAtKill} of {(long)chunks * o.Devices} packets in the fleet; " + takeover +
            $"{(standby ? "standby" : "restarted")} process {gw2.Id} on the same {(standby ? "PostgreSQL database" : "SQLite file")}: rollout {rolloutId} {state}; after the restart devices received {received} bytes in " +
            $"{mine.Count} gateway packets ({repairs} repair copies, {first.Count} device×packet pairs); re-sent: {heldBeforeBytes} bytes held before the " +
            $"restart, {repeatBytes} sent to the same device again [{string.Join(", ", repeatKinds.Select(k => k.Key + " " + k.Value))}], " +
            $"{arrivedHeldBytes} held on arrival; the restarted gateway counts {gatewayPayload} payload bytes");
    }

    private static MultipartFormDataContent Form(byte[] bytes, string version) => new()
    {
        { new ByteArrayContent(bytes), "file", "fleet.bin" },
        { new StringContent(version), "version" },
    };

    private static async Task<JsonNode> PostAsync(HttpClient http, string path, HttpContent body, CancellationToken ct)
    {
        using var res = await http.PostAsync(path, body, ct);
        string text = await res.Content.ReadAsStringAsync(ct);
        if (!res.IsSuccessStatusCode) throw new InvalidOperationException($"POST {path} failed with {(int)res.StatusCode}: {text}");
        return JsonNode.Parse(text)!;
    }

    private static async Task WaitOnlineAsync(HttpClient http, int devices, GatewayProcess gw, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            var list = JsonNode.Parse(await http.GetStringAsync("/api/devices", ct))!.AsArray();
            int online = list.Count(d => (bool)d!["online"]!);
            if (online >= devices) return;
            if (sw.Elapsed > TimeSpan.FromSeconds(60)) throw new TimeoutException($"the gateway saw {online} of {devices} devices online:\n{gw.Log}");
            await Task.Delay(100, ct);
        }
    }

    /// <summary>Polls GET /api/gateway until it answers <paramref name="role"/>; returns "role X, active Y".</summary>
    private static async Task<string> WaitRoleAsync(HttpClient http, string role, GatewayProcess gw, TimeSpan timeout, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            if (gw.HasExited) throw new InvalidOperationException($"gateway process {gw.Id} exited with code {gw.ExitCode}:\n{gw.Log}");
            try
            {
                using var res = await http.GetAsync("/api/gateway", ct);
                if (res.IsSuccessStatusCode)
                {
                    var v = JsonNode.Parse(await res.Content.ReadAsStringAsync(ct))!;
                    if ((string?)v["role"] == role) return $"role {role}, instance {(string?)v["instance"]}, active {(string?)v["activeInstance"]} at {(string?)v["activeUrl"]}";
                }
            }
            catch (HttpRequestException)
            {
                // not listening (yet, or between standby page and active API)
            }
            if (sw.Elapsed > timeout) throw new TimeoutException($"gateway process {gw.Id} did not answer role {role} within {timeout.TotalSeconds:0} s:\n{gw.Log}");
            await Task.Delay(50, ct);
        }
    }

    private static async Task<JsonNode> WaitEndAsync(HttpClient http, string id, TimeSpan timeout, GatewayProcess gw, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            var v = JsonNode.Parse(await http.GetStringAsync($"/api/rollouts/{id}", ct))!;
            if ((string)v["state"]! is "completed" or "failed" or "aborted") return v;
            if (gw.HasExited) throw new InvalidOperationException($"the restarted gateway exited with code {gw.ExitCode}:\n{gw.Log}");
            if (sw.Elapsed > timeout) return v;
            await Task.Delay(100, ct);
        }
    }

    /// <summary>One packet from the gateway as a device's MQTT port took it: whether the device held it already.</summary>
    public readonly record struct GatewayPacket(uint Node, uint ImageId, int Index, int PayloadLength, bool Repair, bool HeldOnArrival);

    /// <summary>Hooks every device's MQTT port (all the gateway sends a device arrives there: originals and repair
    /// copies) and records each data packet with whether the device held it just before its core took it.</summary>
    private sealed class GatewayPacketObserver : IDisposable
    {
        private readonly List<GatewayPacket> _seen = new();
        private readonly List<VirtualDevice.Network.MqttDevicePort> _ports = new();
        private int _malformed;

        public static GatewayPacketObserver Start(VirtualFleet fleet)
        {
            var o = new GatewayPacketObserver();
            foreach (var d in fleet.Devices)
            {
                var agent = d.Agent;
                var packet = new DataPacket();
                var port = d.Mqtt;
                o._ports.Add(port);
                // Runs on the port's receive thread, one message at a time, before the agent sees the message.
                port.BeforeHandle = (topic, buf, off, len) =>
                {
                    try
                    {
                        if (WireHeader.Peek(buf, off, len) is not (MessageType.Original or MessageType.Copy)) return;
                        packet.Parse(buf, off, len);
                        bool held = agent.CurrentImageId == packet.ImageId && agent.Holds(packet.Index);
                        lock (o._seen) o._seen.Add(new GatewayPacket(d.NodeId, packet.ImageId, packet.Index, packet.PayloadLength, !packet.IsOriginal, held));
                    }
                    catch (ProtocolException)
                    {
                        Interlocked.Increment(ref o._malformed);
                    }
                };
            }
            return o;
        }

        public IReadOnlyList<GatewayPacket> Received()
        {
            lock (_seen)
            {
                if (_malformed > 0) throw new InvalidDataException($"{_malformed} malformed messages on the devices' in-topics");
                return _seen.ToList();
            }
        }

        public void Dispose()
        {
            foreach (var p in _ports) p.BeforeHandle = null;
        }
    }
}
