using System.Diagnostics;
using IotOta.Bench;

// A fleet worker of a real run (started by the bench itself, spoken to over stdin/stdout): not for direct use.
if (args.Length > 0 && args[0] == WorkerArgs.Flag) return await FleetWorker.RunAsync(args);

BenchOptions o;
try
{
    o = BenchOptions.Parse(args);
}
catch (Exception e) when (e is ArgumentException or FormatException)
{
    Console.Error.WriteLine("error: " + e.Message);
    Console.Error.WriteLine("usage: dotnet run -c Release --project bench -- [--devices N] [--groups G] [--scenario homogeneous|heterogeneous|lossy|churn]");
    Console.Error.WriteLine("       [--strategies iotota,unicast,group-fanout,gossip] [--simulate] [--json] [--image-size B] [--chunk-size B]");
    Console.Error.WriteLine("       [--gateway-up-kbps K] [--broker-up-kbps K|0] [--device-up-kbps K] [--device-down-kbps K] [--latency-ms MS] [--seed S] [--timeout-seconds S] [--results DIR] [--broker mosquitto|embedded] [--fleet-workers K] [--idle-seconds S]");
    return 2;
}
Action<string> log = m => Console.Error.WriteLine($"[bench {DateTime.Now:HH:mm:ss}] {m}");
var runs = new List<RunResult>();
var total = Stopwatch.StartNew();
if (o.Simulate)
{
    if (o.Strategies.Any(s => s != "iotota")) log("--simulate models iotota only (the scheduler under test); other strategies are skipped");
    var sim = new Simulator(o);
    log($"simulating {o.Devices} devices in {sim.Groups} groups");
    runs.Add(sim.Run(o.TimeoutSeconds * 10, o.Scenario));
}
else
{
    foreach (string s in o.Strategies)
    {
        log($"{s}: starting {o.Devices} devices, scenario {o.Scenario}");
        try
        {
            var r = await RealRunner.RunAsync(o, s, log, CancellationToken.None);
            log($"{s}: {r.Completed}/{r.Devices} in {r.Seconds:0.00} s (bound {r.BoundSeconds:0.00} s), gateway {r.GatewayPerImage:0.000} × image");
            runs.Add(r);
        }
        catch (Exception e)
        {
            log($"{s}: failed: {e.GetType().Name}: {e.Message}");
        }
        GC.Collect();
    }
}
Directory.CreateDirectory(o.ResultsDir);
string stem = Path.Combine(o.ResultsDir, $"{(o.Simulate ? "sim" : "real")}-{o.Scenario}-n{o.Devices}");
string md = Report.Markdown(o, runs);
File.WriteAllText(stem + ".md", md);
File.WriteAllText(stem + ".json", Report.JsonText(o, runs));
try
{
    Report.Png(stem + ".png", o, runs);
}
catch (Exception e)
{
    log($"chart not written: {e.Message}");
}
log($"wrote {stem}.md, .json, .png in {total.Elapsed.TotalSeconds:0.0} s");
Console.WriteLine(o.Json ? Report.JsonText(o, runs) : md);
return runs.Count == o.Strategies.Count || o.Simulate ? 0 : 1;
