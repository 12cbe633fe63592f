using System.Globalization;
using System.Security.Cryptography;
using IotOta.Simulation.Fleet;
using IotOta.Gateway.Mqtt;
using IotOta.Simulation.Demo;
using IotOta.Shared.Protocol;
using IotOta.VirtualDevice.Host;
using IotOta.VirtualDevice.Platform;

namespace IotOta.Bench;

/// <summary>What a fleet worker is started with (its command line: <c>--fleet-worker WORKER_OPTIONS -- BENCH_OPTIONS</c>).</summary>
public sealed record WorkerArgs
{
    public required int First { get; init; }
    public required int Count { get; init; }
    public required string FleetHost { get; init; }
    public required int FleetPort { get; init; }
    public required string DataDir { get; init; }
    public required byte KeyId { get; init; }
    public required byte[] PublicKey { get; init; }
    public required string Strategy { get; init; }
    public required BenchOptions Bench { get; init; }

    public const string Flag = "--fleet-worker";

    public IReadOnlyList<string> ToArgs(IEnumerable<string> benchArgs) =>
    [
        Flag, "--first", First.ToString(CultureInfo.InvariantCulture), "--count", Count.ToString(CultureInfo.InvariantCulture),
        "--fleet-host", FleetHost, "--fleet-port", FleetPort.ToString(CultureInfo.InvariantCulture), "--data-dir", DataDir,
        "--key-id", KeyId.ToString(CultureInfo.InvariantCulture), "--public-key", Convert.ToBase64String(PublicKey),
        "--strategy", Strategy, "--", .. benchArgs,
    ];

    public static WorkerArgs Parse(string[] args)
    {
        if (args.Length == 0 || args[0] != Flag) throw new ArgumentException($"a worker's arguments start with {Flag}");
        int sep = Array.IndexOf(args, "--");
        if (sep < 0) throw new ArgumentException("a worker's arguments need -- before the bench options");
        var v = new Dictionary<string, string>();
        for (int i = 1; i < sep; i += 2)
        {
            if (i + 1 >= sep) throw new ArgumentException($"{args[i]} needs a value");
            v[args[i]] = args[i + 1];
        }
        string Get(string k) => v.TryGetValue(k, out string? s) ? s : throw new ArgumentException($"a worker needs {k}");
        return new WorkerArgs
        {
            First = int.Parse(Get("--first"), CultureInfo.InvariantCulture), Count = int.Parse(Get("--count"), CultureInfo.InvariantCulture),
            FleetHost = Get("--fleet-host"), FleetPort = int.Parse(Get("--fleet-port"), CultureInfo.InvariantCulture), DataDir = Get("--data-dir"),
            KeyId = byte.Parse(Get("--key-id"), CultureInfo.InvariantCulture), PublicKey = Convert.FromBase64String(Get("--public-key")),
            Strategy = Get("--strategy"), Bench = BenchOptions.Parse(args[(sep + 1)..]),
        };
    }
}

/// <summary>
/// A fleet worker: devices First+1..First+Count of the bench's fleet in this process, connected to the broker through
/// the bench's uplink relay, answering <see cref="WorkerProtocol"/> requests on stdin/stdout. Exits when stdin closes
/// (the bench ended, was killed or failed), so no worker outlives its bench.
/// </summary>
public static class FleetWorker
{
    public static async Task<int> RunAsync(string[] args)
    {
        // stdout carries the protocol only: anything else printed goes to stderr.
        var protocolOut = new StreamWriter(Console.OpenStandardOutput()) { AutoFlush = true, NewLine = "\n" };
        Console.SetOut(Console.Error);
        var writeGate = new object();
        void Send(string line)
        {
            lock (writeGate) protocolOut.WriteLine(line);
        }
        WorkerArgs w;
        try
        {
            w = WorkerArgs.Parse(args);
        }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            Send(WorkerProtocol.FormatReply(0, false, e.Message));
            return 2;
        }
        var o = w.Bench;
        int groups = o.EffectiveGroups;
        var plan = new FleetPlan(o.Devices, groups, 1);
        var links = DemoRunner.DeviceLinks(RealRunner.DemoOptionsOf(o));
        using var verifier = new EcdsaSignatureVerifier();
        verifier.Add(w.KeyId, w.PublicKey);
        using var stop = new CancellationTokenSource();
        VirtualFleet fleet;
        try
        {
            fleet = await VirtualFleet.StartAsync(w.Count, groups, w.FleetHost, w.FleetPort, w.DataDir, verifier, i => links[w.First + i],
                new FirmwareVersion(1, 0, 0), null, stop.Token, firstNodeId: w.First + 1, slotSize: RealRunner.SlotSizeFor(o.ImageSize),
                groupDataTopic: w.Strategy == "group-fanout" ? g => RealRunner.GroupTopicPrefix + g + "/data" : null, groupsByNodeId: true);
        }
        catch (Exception e)
        {
            Send(WorkerProtocol.FormatReply(0, false, $"{e.GetType().Name}: {e.Message}"));
            return 1;
        }
        Send(WorkerProtocol.FormatReply(0, true, "ready " + w.Count));
        var pending = new List<Task>();
        try
        {
            using var stdin = new StreamReader(Console.OpenStandardInput());
            while (await stdin.ReadLineAsync() is { } line)
            {
                if (line.Length == 0) continue;
                WorkerProtocol.Request r;
                try
                {
                    r = WorkerProtocol.ParseRequest(line);
                }
                catch (FormatException e)
                {
                    Console.Error.WriteLine($"[worker {w.First + 1}..{w.First + w.Count}] {e.Message}");
                    continue;
                }
                if (r.Command == "quit") break;
                pending.RemoveAll(t => t.IsCompleted);
                pending.Add(Task.Run(async () =>
                {
                    string reply;
                    try
                    {
                        reply = WorkerProtocol.FormatReply(r.Id, true, await HandleAsync(fleet, plan, r, stop.Token));
                    }
                    catch (Exception e)
                    {
                        reply = WorkerProtocol.FormatReply(r.Id, false, $"{e.GetType().Name}: {e.Message}");
                    }
                    Send(reply);
                }));
            }
        }
        finally
        {
            stop.Cancel();
            // Power everything off, but never hang around: the bench may already be gone.
            var dispose = fleet.DisposeAsync().AsTask();
            await Task.WhenAny(dispose, Task.Delay(10_000));
        }
        return 0;
    }

    private static readonly object ThreadsGate = new();
    private static Dictionary<string, double> _lastThreads = new();

    private static async Task<string> HandleAsync(VirtualFleet fleet, FleetPlan plan, WorkerProtocol.Request r, CancellationToken ct)
    {
        switch (r.Command)
        {
            case "members":
            {
                var devices = fleet.Devices.ToList();
                int full = MemberLists.CompleteCount(devices, plan.GroupSize);
                return $"{full} {devices.Count}";
            }
            case "restart":
            {
                int local = int.Parse(r.Args[0], CultureInfo.InvariantCulture);
                int offMs = int.Parse(r.Args[1], CultureInfo.InvariantCulture);
                await fleet.RestartDeviceAsync(local, TimeSpan.FromMilliseconds(offMs), ct);
                return local.ToString(CultureInfo.InvariantCulture);
            }
            case "report":
            {
                byte[] sha = Convert.FromHexString(r.Args[0]);
                int length = int.Parse(r.Args[1], CultureInfo.InvariantCulture);
                return WorkerProtocol.FormatFigures(fleet.Devices.ToList().Select(d => Figures(d, sha, length)));
            }
            case "threads":
            {
                // CPU by thread name since the last "threads" request (a profile of the worker without a profiler).
                var now = ThreadCpu.ByName();
                string top;
                lock (ThreadsGate)
                {
                    top = ThreadCpu.Top(now, _lastThreads);
                    _lastThreads = now;
                }
                return top.Length == 0 ? "-" : top;
            }
            default:
                throw new ArgumentException($"unknown command {r.Command}");
        }
    }

    /// <summary>A device's figures; its slot is checked against the image's SHA-256 (the same slot DemoRunner.SlotMatches reads).</summary>
    public static DeviceFigures Figures(VirtualDeviceHost d, byte[] imageSha256, int imageLength)
    {
        bool verified = false;
        if (!d.IsStopped)
        {
            var slot = d.Flash.Slot(d.Agent.ActiveSlot);
            var buf = new byte[imageLength];
            slot.Read(0, buf, 0, buf.Length);
            verified = SHA256.HashData(buf).AsSpan().SequenceEqual(imageSha256);
        }
        var repair = d.RepairFigures;
        return new DeviceFigures(d.NodeId, d.PeerPayloadBytesSent, d.CoreAllocatedBytes, d.CoreMessages, verified, d.PeerConnectionsMax, d.PeerConnectionsRefused,
            repair.ToPeers, repair.ToGateway, repair.Duplicates);
    }
}
