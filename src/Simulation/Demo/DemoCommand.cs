using IotOta.Simulation.Fleet;
using System.CommandLine;
using System.Text.Json;
using IotOta.Gateway.Rollouts;
using Spectre.Console;

namespace IotOta.Simulation.Demo;

/// <summary>`demo`: runs a whole rollout on a virtual fleet with a live display, then a summary (or one JSON object).</summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var devices = new Option<int>("--devices") { Description = "number of virtual devices", DefaultValueFactory = _ => 30 };
        var groups = new Option<int>("--groups") { Description = "number of groups (local networks)", DefaultValueFactory = _ => 3 };
        var imageSize = new Option<int>("--image-size") { Description = "size of the generated image in bytes", DefaultValueFactory = _ => 1024 * 1024 };
        var chunkSize = new Option<int>("--chunk-size") { Description = "minimum-unit packet size in bytes", DefaultValueFactory = _ => 4096 };
        var broker = new Option<string?>("--broker") { Description = "HOST:PORT[,HOST:PORT…] of an external MQTT broker or cluster (default: embedded broker); credentials and TLS: IotOta:Mqtt" };
        var perGroup = new Option<bool>("--per-group") { Description = "send one original per group instead of once for the whole fleet" };
        var manifestV1 = new Option<bool>("--manifest-v1") { Description = "protocol v1 control: the whole signed manifest to every device (default: v2, a 160-byte signed root per device, the chunk-hash list over the devices' links)" };
        var piecesDownTrees = new Option<bool>("--pieces-down-trees") { Description = "protocol v2 with at most 21 groups: the hash-list pieces go down the relay trees, one original each (saves the broker a second copy of the list at 10 groups: RolloutOptions.PiecesDownTrees); on by default, --pieces-down-trees false names relays in every group", DefaultValueFactory = _ => true };
        var gwUp = new Option<double>("--gateway-up-kbps") { Description = "gateway upload rate (0 = unlimited)" };
        var devUp = new Option<double>("--device-up-kbps") { Description = "device upload rate (0 = unlimited)" };
        var devDown = new Option<double>("--device-down-kbps") { Description = "device download rate (0 = unlimited)" };
        var slowFraction = new Option<double>("--slow-fraction") { Description = "fraction of devices whose rates are divided by --slow-factor" };
        var slowFactor = new Option<double>("--slow-factor") { Description = "divisor of the slow devices' rates", DefaultValueFactory = _ => 1 };
        var loss = new Option<double>("--loss") { Description = "message loss rate on device links, 0..1" };
        var groupUplink = new Option<double>("--group-uplink-kbps") { Description = "each group's shared uplink for copies to other groups (0 = unlimited)" };
        var latency = new Option<double>("--latency-ms") { Description = "added latency on device links" };
        var seed = new Option<int>("--seed") { Description = "seed for the image and the slow devices", DefaultValueFactory = _ => 1 };
        var timeout = new Option<int>("--timeout-seconds") { Description = "give up after this long", DefaultValueFactory = _ => 300 };
        var board = new Option<string[]>("--board") { Description = "board profile(s) from boards/ (e.g. esp32-devkitc; several, comma-separated, make a mixed fleet)", AllowMultipleArgumentsPerToken = true };
        var heapBudget = new Option<int?>("--core-heap-budget") { Description = "device core heap budget in bytes for every device instead of the boards' coreHeapBudget; a core that exceeds it fails its device" };
        var peerConnections = new Option<int?>("--peer-connections") { Description = "peer connections (in and out together) each device may hold at once, instead of the board's maxPeerConnections (default 6; 0 = unlimited)" };
        var scenario = new Option<string?>("--scenario") { Description = "run a scenario file (scenarios/*.json: fleet, boards, links, faults, expectations) instead of the options above" };
        var secure = new Option<bool>("--secure") { Description = "per-device MQTT credentials and topic ACL on the embedded broker" };
        var tls = new Option<bool>("--tls") { Description = "MQTT over TLS (private CA; implies --secure) on the embedded broker" };
        var json = new Option<bool>("--json") { Description = "print one JSON object at the end instead of the live display" };
        var verbose = new Option<bool>("--verbose") { Description = "print device and gateway diagnostics" };

        var cmd = new Command("demo", "Roll out a generated, signed image to a virtual fleet over an embedded MQTT broker");
        foreach (Option o in new Option[] { devices, groups, imageSize, chunkSize, broker, perGroup, manifestV1, piecesDownTrees, gwUp, devUp, devDown, slowFraction, slowFactor, loss, groupUplink, latency, seed, timeout, board, secure, tls, heapBudget, peerConnections, scenario, json, verbose })
            cmd.Options.Add(o);

        cmd.SetAction(async (parse, ct) =>
        {
            var options = new DemoOptions
            {
                Devices = parse.GetValue(devices),
                Groups = parse.GetValue(groups),
                ImageSize = parse.GetValue(imageSize),
                ChunkSize = parse.GetValue(chunkSize),
                Broker = parse.GetValue(broker),
                CrossGroup = !parse.GetValue(perGroup),
                SignedRoot = !parse.GetValue(manifestV1),
                PiecesDownTrees = parse.GetValue(piecesDownTrees),
                GatewayUpKbps = parse.GetValue(gwUp),
                DeviceUpKbps = parse.GetValue(devUp),
                DeviceDownKbps = parse.GetValue(devDown),
                SlowFraction = parse.GetValue(slowFraction),
                SlowFactor = parse.GetValue(slowFactor),
                Loss = parse.GetValue(loss),
                GroupUplinkKbps = parse.GetValue(groupUplink),
                LatencyMs = parse.GetValue(latency),
                Seed = parse.GetValue(seed),
                FitImageToBoards = parse.GetResult(imageSize) is null || parse.GetResult(imageSize)!.Implicit,
                Boards = (parse.GetValue(board) ?? []).SelectMany(b => b.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList(),
                Timeout = TimeSpan.FromSeconds(parse.GetValue(timeout)),
                CoreHeapBudget = parse.GetValue(heapBudget),
                PeerConnections = parse.GetValue(peerConnections),
                Secure = parse.GetValue(secure) || parse.GetValue(tls),
                Tls = parse.GetValue(tls),
            };
            bool asJson = parse.GetValue(json);
            Action<string>? log = parse.GetValue(verbose) ? m => Console.Error.WriteLine(m) : null;
            if (parse.GetValue(scenario) is { } scenarioPath) return await RunScenarioAsync(scenarioPath, asJson, log, ct);
            try
            {
                options.Validate();
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 2;
            }
            // Shapes the devices or this process cannot hold are bad input: refused before anything starts.
            var boards = KnownBoards(options);
            if (GroupFit.Problem(options.Devices, options.Groups, boards, options.PeerConnections) is { } shape)
            {
                Console.Error.WriteLine($"error: {shape}");
                return 2;
            }
            if (FileLimit.WhyNotFitsThisProcess(options.Devices, options.Groups, GroupFit.LargestBudget(boards, options.PeerConnections)) is { } tooMany)
            {
                Console.Error.WriteLine($"error: {tooMany}");
                return 2;
            }
            DemoSummary summary;
            try
            {
                summary = asJson
                    ? await DemoRunner.RunAsync(options, null, log, ct)
                    : await RunWithDisplayAsync(options, log, ct);
            }
            catch (Exception e) when (e is ArgumentException or IotOta.BoardProfiles.BoardProfileException or TimeoutException or IOException or InvalidDataException or System.Net.Sockets.SocketException or MQTTnet.Exceptions.MqttCommunicationException)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 1;
            }
            if (asJson)
            {
                Console.WriteLine(JsonSerializer.Serialize(summary, new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.CamelCase }));
            }
            else
            {
                PrintSummary(summary);
            }
            foreach (string e in summary.Errors) Console.Error.WriteLine($"error: {e}");
            return summary.Failed == 0 && !summary.TimedOut ? 0 : 1;
        });
        return cmd;
    }

    /// <summary>The fleet's board profiles; an unknown board name is left for the run to refuse with its own message
    /// (then the plain virtual layout stands in for the shape checks).</summary>
    private static IReadOnlyList<IotOta.BoardProfiles.BoardProfile> KnownBoards(DemoOptions options)
    {
        try
        {
            return options.Boards.Select(b => IotOta.BoardProfiles.BoardProfile.Named(b)).ToList();
        }
        catch (IotOta.BoardProfiles.BoardProfileException)
        {
            return [];
        }
    }

    private static async Task<int> RunScenarioAsync(string path, bool asJson, Action<string>? log, CancellationToken ct)
    {
        Scenario s;
        try
        {
            s = Scenario.Load(path);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
        ScenarioResult r;
        try
        {
            if (!asJson) AnsiConsole.MarkupLineInterpolated($"[bold]scenario {s.Name}[/]: {s.Description}");
            r = await ScenarioRunner.RunAsync(s, log, ct);
        }
        catch (Exception e) when (e is ArgumentException or IotOta.BoardProfiles.BoardProfileException or TimeoutException or IOException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
        if (asJson)
        {
            Console.WriteLine(JsonSerializer.Serialize(r, new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.CamelCase }));
        }
        else
        {
            PrintSummary(r.Summary);
            foreach (string f in r.Faults) AnsiConsole.MarkupLineInterpolated($"fault: {f}");
            foreach (var c in r.Checks) AnsiConsole.MarkupLine($"{(c.Passed ? "[green]pass[/]" : "[red]FAIL[/]")} {Markup.Escape(c.Name)}: {Markup.Escape(c.Detail)}");
            AnsiConsole.MarkupLine($"scenario {Markup.Escape(s.Name)}: {(r.Passed ? "[green]passed[/]" : "[red]failed[/]")}");
        }
        return r.Passed ? 0 : 1;
    }

    private static async Task<DemoSummary> RunWithDisplayAsync(DemoOptions options, Action<string>? log, CancellationToken ct)
    {
        AnsiConsole.MarkupLine($"[bold]IotOta demo[/]: {options.Devices} virtual devices in {options.Groups} groups, image {options.ImageSize:N0} bytes, {(options.CrossGroup ? "one copy for the whole fleet" : "one copy per group")}");
        DemoSummary? summary = null;
        await AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async ctx =>
            {
                var tasks = new Dictionary<int, ProgressTask>();
                ProgressTask gatewayTask = ctx.AddTask("gateway bytes / image", maxValue: 1);
                var progress = new SyncProgress<RolloutSnapshot>(s =>
                {
                    foreach (var g in s.Groups)
                    {
                        if (!tasks.TryGetValue(g.GroupId, out var t))
                            tasks[g.GroupId] = t = ctx.AddTask($"group {g.GroupId}", maxValue: Math.Max(1, g.TotalPackets));
                        t.MaxValue = Math.Max(1, g.TotalPackets);
                        t.Value = g.HeldPackets;
                        t.Description = $"group {g.GroupId} ({g.Updated}/{g.Devices} updated)";
                    }
                    gatewayTask.MaxValue = Math.Max(1, s.ImageBytes);
                    gatewayTask.Value = Math.Min(s.GatewayPayloadBytes, s.ImageBytes);
                    gatewayTask.Description = $"gateway {s.GatewayPayloadBytes / (double)Math.Max(1, s.ImageBytes):0.00}× image";
                });
                summary = await DemoRunner.RunAsync(options, progress, log, ct);
            });
        return summary!;
    }

    private static void PrintSummary(DemoSummary s)
    {
        var t = new Table().AddColumn("figure").AddColumn(new TableColumn("value").RightAligned());
        t.AddRow("devices updated", $"{s.Updated} / {s.Devices}");
        t.AddRow("failed", s.Failed.ToString());
        t.AddRow("image bytes", s.ImageBytes.ToString("N0"));
        t.AddRow("gateway payload bytes", $"{s.GatewayPayloadBytes:N0} ({s.GatewayPayloadPerImage:0.000}× image)");
        if (s.Broker is { } br)
        {
            t.AddRow("broker bytes sent (rollout)", $"{br.Sent:N0} ({br.SentPerImage:0.000}× image; goal ≤ {br.GoalBytes:N0}: {(br.WithinGoal ? "met" : "missed")})");
            t.AddRow("  data / control sent", $"{br.DataSentPerImage:0.000}× / {br.ControlSentPerImage:0.000}× image ({br.ControlSentPerDevice:N0} B per device)");
            t.AddRow("broker bytes received (rollout)", $"{br.Received:N0} ({br.ReceivedPerImage:0.000}× image, control {br.ControlReceivedPerImage:0.000}×)");
        }
        else t.AddRow("broker bytes", "not counted (external broker without $SYS/broker/bytes)");
        t.AddRow("peer payload bytes", s.PeerPayloadBytes.ToString("N0"));
        t.AddRow("peer connections (most held / limit / refused)", $"{s.PeerConnectionsMax} / {(s.PeerConnectionLimit == 0 ? "unlimited" : s.PeerConnectionLimit)} / {s.PeerConnectionsRefused}");
        t.AddRow("originals / relays / repairs", $"{s.OriginalsSent} / {s.RelaysNamed} / {s.RepairCopiesSent}");
        t.AddRow("seconds", s.Seconds.ToString("0.000"));
        if (s.BoundSeconds is double b) t.AddRow("Kumar–Ross bound (s)", $"{b:0.000} (ratio {s.BoundRatio:0.00})");
        AnsiConsole.Write(t);
        if (s.Boards.Count > 0)
        {
            var bt = new Table().Title("boards").AddColumns("board", "sink", "updated", "chunk", "staging high-water / capacity", "core peak heap / budget (B)");
            foreach (var f in s.Boards)
                bt.AddRow(f.Board, f.SinkMode, $"{f.Updated} / {f.Devices}", f.ChunkSize.ToString(), $"{f.StagingHighWater} / {f.StagingCapacity}",
                    $"{f.CorePeakHeapBytes:N0} / {f.CoreHeapBudget:N0}{(f.OverBudget > 0 ? $" ({f.OverBudget} over)" : "")}");
            AnsiConsole.Write(bt);
        }
        if (s.Overheads.Count == 0) return;
        var o = new Table().Title("overhead table (busiest intermediate nodes)").AddColumn("device").AddColumn(new TableColumn("notices").RightAligned())
            .AddColumn(new TableColumn("overhead ms").RightAligned()).AddColumn(new TableColumn("arrival ms").RightAligned()).AddColumn(new TableColumn("forwards kB/s").RightAligned());
        foreach (var d in s.Overheads.OrderByDescending(d => d.Notices).Take(8))
            o.AddRow(d.NodeId.ToString(), d.Notices.ToString(), d.OverheadMs.ToString("0"), d.ArrivalMs.ToString("0"), (d.ForwardBytesPerSecond / 1000).ToString("0"));
        AnsiConsole.Write(o);
    }

    /// <summary>Reports on the caller's thread without a SynchronizationContext hop (Spectre's context is thread-safe).</summary>
    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
