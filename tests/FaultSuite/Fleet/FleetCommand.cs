using System.Text.Json;

namespace IotOta.FaultSuite.Fleet;

/// <summary>`FaultSuite fleet`: runs the fleet scenarios against a real Mosquitto started for each, prints one line
/// per scenario (or, with --json, <c>{ "scenarios": [ { name, completed, resentBytes, imageBytes, recoverySeconds, … } ] }</c>).
/// Exit code 0 only when every scenario completed within its limits (at most 1 % of the image re-sent unless the
/// scenario says otherwise, e.g. device-kill9: 5 % and a payload of at most 1.1 × image) and every security scenario
/// was refused by the broker.</summary>
public static class FleetCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        var o = new FleetScenarioOptions();
        var names = new List<string>();
        bool json = false, verbose = false;
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException(a + " needs a value");
            switch (a)
            {
                case "--devices": o = o with { Devices = int.Parse(Next()) }; break;
                case "--groups": o = o with { Groups = int.Parse(Next()) }; break;
                case "--image-size": o = o with { ImageSize = int.Parse(Next()) }; break;
                case "--gateway-up-kbps": o = o with { GatewayUpBytesPerSecond = double.Parse(Next()) * 1000 / 8 }; break;
                case "--seed": o = o with { Seed = int.Parse(Next()) }; break;
                case "--partition-seconds": o = o with { Partition = TimeSpan.FromSeconds(double.Parse(Next())) }; break;
                case "--partition-group": o = o with { PartitionGroup = int.Parse(Next()) }; break;
                case "--scenario": names.Add(Next()); break;
                case "--json": json = true; break;
                case "--verbose": verbose = true; break;
                default:
                    Console.Error.WriteLine("unknown option " + a);
                    return 2;
            }
        }
        if (names.Count == 0) names.AddRange(FleetFaultSuite.ScenarioNames);
        var results = new List<FleetScenarioResult>();
        Action<string>? log = verbose ? m => Console.Error.WriteLine(m) : null;
        foreach (string n in names)
        {
            FleetScenarioResult r;
            try
            {
                r = await FleetFaultSuite.RunAsync(n, o, log, CancellationToken.None);
            }
            catch (Exception e) when (e is not ArgumentException)
            {
                r = new FleetScenarioResult(n, false, 0, o.ImageSize, 0, 0, o.Devices, 0, e.GetType().Name + ": " + e.Message);
            }
            results.Add(r);
            if (!json)
                Console.WriteLine($"{r.Name,-16} completed={r.Completed}{(r.Refused is bool rf ? " refused=" + rf : "")} updated={r.Updated}/{r.Devices} resentBytes={r.ResentBytes} imageBytes={r.ImageBytes} " +
                                  $"recoverySeconds={r.RecoverySeconds:0.00}  {r.Detail}");
        }
        if (json) Console.WriteLine(JsonSerializer.Serialize(new { scenarios = results.Select(r => r.ToJson()) }));
        return results.All(r => r.Passed) ? 0 : 1;
    }
}
