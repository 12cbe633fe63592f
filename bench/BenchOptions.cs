using IotOta.Simulation.Fleet;
namespace IotOta.Bench;

/// <summary>What one benchmark invocation runs.</summary>
public sealed record BenchOptions
{
    public int Devices { get; init; } = 100;
    /// <summary>0 = default: min(9, ceil(N/10)) for real runs (one original reaches up to 8 other groups),
    /// ceil(N/32) for simulations above 300 devices.</summary>
    public int Groups { get; init; }
    public string Scenario { get; init; } = "homogeneous";
    public List<string> Strategies { get; init; } = ["iotota", "unicast", "group-fanout", "gossip"];
    public bool Json { get; init; }
    public bool Simulate { get; init; }
    /// <summary>1 MiB: with the default links the bound is 6–8.5 s at every N, long against the host's per-packet
    /// costs and timer granularity.</summary>
    public int ImageSize { get; init; } = 1024 * 1024;
    public int ChunkSize { get; init; } = 4096;
    // Links of an ESP32 on a shared 2.4 GHz Wi-Fi cell: ~1 Mbit/s sustained TCP up, a few Mbit/s down; the gateway
    // on wired Ethernet or a good uplink, 10 Mbit/s.
    public double GatewayUpKbps { get; init; } = 10000;
    public double DeviceUpKbps { get; init; } = 1000;
    public double DeviceDownKbps { get; init; } = 4000;
    public double LatencyMs { get; init; } = 5;
    /// <summary>The broker's uplink to the fleet in kbit/s. Null = the gateway's: the broker runs at the gateway's site
    /// and everything it sends to devices shares that site's uplink, which is the server upload u_s of the Kumar–Ross
    /// bound. 0 = unlimited (a broker with more upload than the bound counts, e.g. in a cloud).</summary>
    public double? BrokerUpKbps { get; init; }
    public double EffectiveBrokerUpKbps => BrokerUpKbps ?? GatewayUpKbps;
    /// <summary>"mosquitto" (its own process, default) or "embedded" (MQTTnet's broker in this process).</summary>
    public string Broker { get; init; } = "mosquitto";
    public int Seed { get; init; } = 1;
    public double TimeoutSeconds { get; init; } = 120;
    public string ResultsDir { get; init; } = "bench/results";
    /// <summary>Fleet worker processes for real runs; 0 = as the open-file limit needs (<see cref="FileLimit.ChooseWorkers"/>:
    /// 1, the fleet in the bench process, while it fits).</summary>
    public int FleetWorkers { get; init; }
    /// <summary>How long the idle fleet's CPU is measured before each rollout (seconds).</summary>
    public double IdleSeconds { get; init; } = 2;

    public static readonly string[] Scenarios = ["homogeneous", "heterogeneous", "lossy", "churn"];
    public static readonly string[] AllStrategies = ["iotota", "unicast", "group-fanout", "gossip"];

    public int EffectiveGroups => Groups > 0 ? Math.Min(Groups, Devices)
        : Simulate && Devices > 300 ? (Devices + 31) / 32 : Math.Min(9, Math.Max(1, (Devices + 9) / 10));
    public double SlowFraction => Scenario == "heterogeneous" ? 0.25 : 0;
    public double SlowFactor => Scenario == "heterogeneous" ? 10 : 1;
    public double Loss => Scenario == "lossy" ? 0.02 : 0;
    public double ChurnFraction => Scenario == "churn" ? 0.10 : 0;

    public static BenchOptions Parse(string[] args)
    {
        var o = new BenchOptions();
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{a} needs a value");
            o = a switch
            {
                "--devices" => o with { Devices = int.Parse(Next()) },
                "--groups" => o with { Groups = int.Parse(Next()) },
                "--scenario" => o with { Scenario = Next() },
                "--strategies" => o with { Strategies = Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList() },
                "--json" => o with { Json = true },
                "--simulate" => o with { Simulate = true },
                "--image-size" => o with { ImageSize = int.Parse(Next()) },
                "--chunk-size" => o with { ChunkSize = int.Parse(Next()) },
                "--gateway-up-kbps" => o with { GatewayUpKbps = double.Parse(Next()) },
                "--device-up-kbps" => o with { DeviceUpKbps = double.Parse(Next()) },
                "--device-down-kbps" => o with { DeviceDownKbps = double.Parse(Next()) },
                "--broker-up-kbps" => o with { BrokerUpKbps = double.Parse(Next()) },
                "--latency-ms" => o with { LatencyMs = double.Parse(Next()) },
                "--seed" => o with { Seed = int.Parse(Next()) },
                "--timeout-seconds" => o with { TimeoutSeconds = double.Parse(Next()) },
                "--results" => o with { ResultsDir = Next() },
                "--broker" => o with { Broker = Next() },
                "--fleet-workers" => o with { FleetWorkers = int.Parse(Next()) },
                "--idle-seconds" => o with { IdleSeconds = double.Parse(Next()) },
                _ => throw new ArgumentException($"unknown option {a}"),
            };
        }
        if (o.Devices < 1) throw new ArgumentException("--devices must be at least 1");
        if (!Scenarios.Contains(o.Scenario)) throw new ArgumentException($"--scenario must be one of {string.Join(", ", Scenarios)}");
        foreach (var s in o.Strategies)
            if (!AllStrategies.Contains(s)) throw new ArgumentException($"unknown strategy {s}; known: {string.Join(",", AllStrategies)}");
        if (o.Broker is not ("mosquitto" or "embedded")) throw new ArgumentException("--broker must be mosquitto or embedded");
        if (!(o.IdleSeconds > 0)) throw new ArgumentException("--idle-seconds must be positive");
        if (o.FleetWorkers < 0) throw new ArgumentException("--fleet-workers must be 0 (as the open-file limit needs) or more");
        if (o.ImageSize < 1 || o.ChunkSize < 1) throw new ArgumentException("--image-size and --chunk-size must be positive");
        if (o.BrokerUpKbps < 0) throw new ArgumentException("--broker-up-kbps must be positive, or 0 for unlimited");
        if (o.GatewayUpKbps <= 0 || o.DeviceUpKbps <= 0 || o.DeviceDownKbps <= 0) throw new ArgumentException("link rates must be positive (the bound needs them)");
        return o;
    }

    /// <summary>The options a fleet worker needs to build the same devices (fleet size, groups, image, links, scenario,
    /// seed), as arguments <see cref="Parse"/> reads back.</summary>
    public List<string> FleetArgs()
    {
        string D(double v) => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        string I(int v) => v.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return ["--devices", I(Devices), "--groups", I(EffectiveGroups), "--scenario", Scenario, "--image-size", I(ImageSize),
            "--chunk-size", I(ChunkSize), "--gateway-up-kbps", D(GatewayUpKbps), "--device-up-kbps", D(DeviceUpKbps),
            "--device-down-kbps", D(DeviceDownKbps), "--latency-ms", D(LatencyMs), "--seed", I(Seed)];
    }
}
