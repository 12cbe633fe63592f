using System.CommandLine;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace IotOta.Cli;

/// <summary>
/// `iotota`: the operator's command line against the gateway's REST API. Exit codes: 0 ok (a rollout waited on: every
/// device updated), 1 failure (the gateway cannot be reached, refused the credentials, or a rollout failed or was
/// aborted), 2 usage or validation (bad arguments, a missing file, or a request the gateway refused as invalid),
/// 3 a rollout waited on ended with devices pending (offline when its window ended, none failed beyond its threshold).
/// </summary>
public static class CliApp
{
    public const int Ok = 0, Failure = 1, Usage = 2, EndedWithPending = 3;

    public static async Task<int> RunAsync(string[] args, IAnsiConsole console, TextWriter err, HttpMessageHandler? handler = null, CancellationToken ct = default)
    {
        var server = new Option<string?>("--server") { Description = "gateway URL (env IOTOTA_SERVER; default http://127.0.0.1:5080)", Recursive = true };
        var user = new Option<string?>("--user") { Description = "operator user (env IOTOTA_USER; default admin)", Recursive = true };
        var password = new Option<string?>("--password") { Description = "operator password (env IOTOTA_PASSWORD)", Recursive = true };
        var root = new RootCommand("iotota: operate IotOta firmware rollouts through the gateway's REST API") { server, user, password };
        int code = Ok;

        // Runs an action with a client; maps failures to exit codes and plain messages on stderr.
        Func<ParseResult, CancellationToken, Task<int>> With(Func<ApiClient, ParseResult, CancellationToken, Task<int>> action) => async (parse, token) =>
        {
            string url = parse.GetValue(server) ?? Environment.GetEnvironmentVariable("IOTOTA_SERVER") ?? "http://127.0.0.1:5080";
            string u = parse.GetValue(user) ?? Environment.GetEnvironmentVariable("IOTOTA_USER") ?? "admin";
            string? p = parse.GetValue(password) ?? Environment.GetEnvironmentVariable("IOTOTA_PASSWORD");
            if (!Uri.TryCreate(url.EndsWith('/') ? url : url + "/", UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https"))
            {
                err.WriteLine($"error: --server '{url}' is not an http(s) URL");
                return Usage;
            }
            if (string.IsNullOrEmpty(p))
            {
                err.WriteLine("error: no password: pass --password or set IOTOTA_PASSWORD");
                return Usage;
            }
            using var client = new ApiClient(uri, u, p, handler);
            try
            {
                return await action(client, parse, token);
            }
            catch (ApiException e)
            {
                err.WriteLine($"error: {e.Message}");
                return e.ExitCode;
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                err.WriteLine("cancelled");
                return Failure;
            }
        };

        // image push FILE --version V [--board B]; image list
        var file = new Argument<string>("FILE") { Description = "firmware image file" };
        var version = new Option<string>("--version") { Description = "image version, major.minor.patch", Required = true };
        var board = new Option<string?>("--board") { Description = "board target (default esp32)" };
        var push = new Command("push", "Upload an image; the gateway signs it") { file, version, board };
        push.SetAction(With(async (c, parse, token) =>
        {
            string path = parse.GetValue(file)!;
            if (!File.Exists(path))
            {
                err.WriteLine($"error: file not found: {path}");
                return Usage;
            }
            var img = await c.PushImageAsync(path, parse.GetValue(version)!, parse.GetValue(board), token);
            console.MarkupLineInterpolated($"pushed image [bold]{Str(img, "id")}[/]: version {Str(img, "version")}, board {Str(img, "board")}, {Str(img, "size")} bytes in {Str(img, "chunkCount")} packets, sha-256 {Str(img, "sha256")}");
            return Ok;
        }));
        var imageList = new Command("list", "List the stored images");
        imageList.SetAction(With(async (c, _, token) =>
        {
            var table = new Table().AddColumns("id", "version", "board", "bytes", "packets", "uploaded");
            foreach (var i in (await c.GetAsync("api/images", token)).AsArray())
                table.AddRow(Str(i, "id"), Str(i, "version"), Str(i, "board"), Str(i, "size"), Str(i, "chunkCount"), Str(i, "uploadedAt"));
            console.Write(table);
            return Ok;
        }));
        root.Subcommands.Add(new Command("image", "Firmware images") { push, imageList });

        var devices = new Command("devices", "List the devices: group, version, state, overhead, last seen, held packets");
        devices.SetAction(With(async (c, _, token) =>
        {
            var table = new Table().AddColumns("node", "group", "online", "version", "state", "held", "overhead ms", "forward B/s", "last seen");
            foreach (var d in (await c.GetAsync("api/devices", token)).AsArray())
            {
                var o = d?["overhead"];
                table.AddRow(Str(d, "nodeId"), Str(d, "groupId"), Str(d, "online"), Str(d, "version"), Str(d, "state"),
                    $"{Str(d, "heldPackets")}/{Str(d, "chunkCount")}", o == null ? "-" : Str(o, "overheadMs"), o == null ? "-" : Str(o, "forwardBytesPerSecond"), Str(d, "lastSeen"));
            }
            console.Write(table);
            return Ok;
        }));
        root.Subcommands.Add(devices);

        // rollout start IMAGE [--groups 1,2] [--canary N | --canary-devices 3,7 | --canary-count N] [--percentages 10,50,100]
        //   [--success-threshold F] [--max-failures N] [--install-timeout-seconds S] [--wait]; status; pause; resume; abort
        var image = new Argument<string>("IMAGE") { Description = "image id or version" };
        var groups = new Option<string?>("--groups") { Description = "target groups, e.g. 1,2 (default: all)" };
        var canary = new Option<int>("--canary") { Description = "canary phase: the first N target groups, then the rest" };
        var maxFailures = new Option<int>("--max-failures") { Description = "failed devices tolerated before the rollout stops" };
        var timeout = new Option<int>("--timeout-seconds") { Description = "the gateway gives up on a phase after this long", DefaultValueFactory = _ => 600 };
        var wait = new Option<bool>("--wait") { Description = "show live progress per group and wait for the end (exit 0 all updated, 3 ended with devices pending, 1 failed)" };
        var window = new Option<int>("--window") { Description = "seconds the rollout waits for offline devices (pending) and late joiners", DefaultValueFactory = _ => 86_400 };
        var canaryDevices = new Option<string?>("--canary-devices") { Description = "canary phase: these devices, e.g. 3,7" };
        var canaryCount = new Option<int>("--canary-count") { Description = "canary phase: N devices spread over the groups" };
        var percentages = new Option<string?>("--percentages") { Description = "phases after the canary: cumulative percentages of the fleet, e.g. 10,50,100" };
        var successThreshold = new Option<double>("--success-threshold") { Description = "fraction of a phase's devices updated before the next phase starts", DefaultValueFactory = _ => 1.0 };
        var installTimeout = new Option<int>("--install-timeout-seconds") { Description = "a device silent this long after getting the whole image counts as failed", DefaultValueFactory = _ => 300 };
        var start = new Command("start", "Create and start a rollout") { image, groups, canary, maxFailures, timeout, wait, canaryDevices, canaryCount, percentages, successThreshold, installTimeout, window };
        start.SetAction(With(async (c, parse, token) =>
        {
            int[] g;
            try
            {
                g = (parse.GetValue(groups) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(int.Parse).ToArray();
            }
            catch (FormatException)
            {
                err.WriteLine($"error: --groups '{parse.GetValue(groups)}' is not a comma-separated list of group numbers");
                return Usage;
            }
            uint[]? cd;
            int[]? pc;
            try
            {
                cd = parse.GetValue(canaryDevices) is { } cds ? cds.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(uint.Parse).ToArray() : null;
                pc = parse.GetValue(percentages) is { } ps ? ps.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(int.Parse).ToArray() : null;
            }
            catch (Exception e) when (e is FormatException or OverflowException)
            {
                err.WriteLine("error: --canary-devices and --percentages take comma-separated numbers, e.g. 3,7 and 10,50,100");
                return Usage;
            }
            var r = await c.PostJsonAsync("api/rollouts?start=true", new
            {
                imageId = parse.GetValue(image),
                groups = g,
                canaryGroups = parse.GetValue(canary),
                maxFailures = parse.GetValue(maxFailures),
                timeoutSeconds = parse.GetValue(timeout),
                canaryDevices = cd,
                canaryCount = parse.GetValue(canaryCount),
                percentages = pc,
                successThreshold = parse.GetValue(successThreshold),
                installTimeoutSeconds = parse.GetValue(installTimeout),
                windowSeconds = parse.GetValue(window),
            }, token);
            string id = Str(r, "id");
            console.MarkupLineInterpolated($"rollout [bold]{id}[/] started: image {Str(r, "imageId")} version {Str(r, "version")}, {Str(r, "devices")} devices");
            return parse.GetValue(wait) ? await WaitAsync(c, console, id, token) : Ok;
        }));
        var idArg = () => new Argument<string?>("ID") { Description = "rollout id (default: the latest)", Arity = ArgumentArity.ZeroOrOne };
        var statusId = idArg();
        var status = new Command("status", "Show a rollout's progress per group") { statusId, wait };
        status.SetAction(With(async (c, parse, token) =>
        {
            string id = await ResolveAsync(c, parse.GetValue(statusId), token);
            if (parse.GetValue(wait)) return await WaitAsync(c, console, id, token);
            var v = await c.GetAsync($"api/rollouts/{Uri.EscapeDataString(id)}", token);
            PrintStatus(console, v);
            return Ok;
        }));
        var rollout = new Command("rollout", "Rollouts") { start, status };
        foreach (var action in new[] { "pause", "resume", "abort" })
        {
            var aid = idArg();
            var cmd = new Command(action, $"{char.ToUpperInvariant(action[0])}{action[1..]} a rollout") { aid };
            cmd.SetAction(With(async (c, parse, token) =>
            {
                string id = await ResolveAsync(c, parse.GetValue(aid), token);
                var v = await c.PostJsonAsync($"api/rollouts/{Uri.EscapeDataString(id)}/{action}", null, token);
                console.MarkupLineInterpolated($"rollout {id}: {Str(v, "state")}");
                return Ok;
            }));
            rollout.Subcommands.Add(cmd);
        }
        var list = new Command("list", "List the rollouts");
        list.SetAction(With(async (c, _, token) =>
        {
            var table = new Table().AddColumns("id", "version", "state", "updated", "percent", "message");
            foreach (var r in (await c.GetAsync("api/rollouts", token)).AsArray())
                table.AddRow(Str(r, "id"), Str(r, "version"), Str(r, "state"), $"{Str(r, "updated")}/{Str(r, "devices")}", Str(r, "percent"), Markup.Escape(Str(r, "message")));
            console.Write(table);
            return Ok;
        }));
        rollout.Subcommands.Add(list);
        root.Subcommands.Add(rollout);

        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var e in parsed.Errors) err.WriteLine($"error: {e.Message}");
            err.WriteLine("run `iotota --help` for usage");
            return Usage;
        }
        code = await parsed.InvokeAsync(new InvocationConfiguration { Output = console.Profile.Out.Writer, Error = err }, ct);
        return code;
    }

    private static string Str(JsonNode? n, string key) => n?[key] switch
    {
        null => "",
        JsonValue v => v.ToString(),
        var x => x.ToJsonString(),
    };

    private static async Task<string> ResolveAsync(ApiClient c, string? id, CancellationToken ct)
    {
        if (!string.IsNullOrEmpty(id)) return id;
        var all = (await c.GetAsync("api/rollouts", ct)).AsArray();
        if (all.Count == 0) throw new ApiException(System.Net.HttpStatusCode.NotFound, "there is no rollout yet");
        return Str(all[^1], "id");
    }

    private static void PrintStatus(IAnsiConsole console, JsonNode v)
    {
        console.MarkupLineInterpolated($"rollout [bold]{Str(v, "id")}[/] version {Str(v, "version")}: [bold]{Str(v, "state")}[/] {Str(v, "percent")} %, {Str(v, "updated")}/{Str(v, "devices")} updated, {Str(v, "failed")} failed, {Str(v, "pending")} pending, gateway sent {Str(v, "gatewayPayloadBytes")} bytes for a {Str(v, "imageBytes")}-byte image in {Str(v, "elapsedSeconds")} s");
        if (Str(v, "message") is { Length: > 0 } m) console.MarkupLineInterpolated($"  {m}");
        foreach (var g in v["groupProgress"]!.AsArray())
            console.MarkupLineInterpolated($"  group {Str(g, "groupId")}: {Str(g, "updated")}/{Str(g, "devices")} updated, {Str(g, "percent")} %");
        foreach (var d in (v["deviceProgress"]?.AsArray() ?? new JsonArray()).Where(d => d?["pending"]?.GetValue<bool>() == true))
            console.MarkupLineInterpolated($"  pending: device {Str(d, "nodeId")} (group {Str(d, "groupId")}) offline since {Str(d, "lastSeen")}, {Str(d, "heldPackets")}/{Str(d, "totalPackets")} packets held");
    }

    /// <summary>Live progress per group until the rollout ends; exit 0 when it completed, 3 when it ended with devices
    /// pending, 1 otherwise.</summary>
    private static async Task<int> WaitAsync(ApiClient c, IAnsiConsole console, string id, CancellationToken ct)
    {
        string path = $"api/rollouts/{Uri.EscapeDataString(id)}";
        JsonNode v = await c.GetAsync(path, ct);
        bool Ended(JsonNode x) => Str(x, "state") is "completed" or "failed" or "aborted" or "ended-with-pending";
        if (console.Profile.Capabilities.Interactive)
        {
            await console.Progress().AutoClear(false).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                .StartAsync(async ctx =>
                {
                    var tasks = new Dictionary<string, ProgressTask>();
                    while (true)
                    {
                        foreach (var g in v["groupProgress"]!.AsArray())
                        {
                            string key = Str(g, "groupId");
                            if (!tasks.TryGetValue(key, out var t)) tasks[key] = t = ctx.AddTask($"group {key}", maxValue: 100);
                            t.Value = g!["percent"]!.GetValue<double>();
                            t.Description = $"group {key} ({Str(g, "updated")}/{Str(g, "devices")})";
                        }
                        if (Ended(v)) break;
                        await Task.Delay(300, ct);
                        v = await c.GetAsync(path, ct);
                    }
                });
        }
        else
        {
            string last = "";
            while (true)
            {
                string line = $"{Str(v, "state")} {Str(v, "percent")} % " + string.Join(" ", v["groupProgress"]!.AsArray().Select(g => $"g{Str(g, "groupId")}={Str(g, "percent")}%"));
                if (line != last) console.WriteLine(line);
                last = line;
                if (Ended(v)) break;
                await Task.Delay(300, ct);
                v = await c.GetAsync(path, ct);
            }
        }
        PrintStatus(console, v);
        return Str(v, "state") switch { "completed" => Ok, "ended-with-pending" => EndedWithPending, _ => Failure };
    }
}
