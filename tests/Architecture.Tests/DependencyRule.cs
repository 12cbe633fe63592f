namespace IotOta.Architecture.Tests;

/// <summary>
/// Which way the arrows go (README "Architecture"): protocol ← device core ← board program; protocol ← gateway core ←
/// {MQTT adapter, persistence} ← server host. The simulation side (virtual devices, demo fleet, benchmark baselines) may
/// use anything; no production project references it, nor tests or the benchmark. A project under src/ not named here
/// is production and may reference production projects only.
/// </summary>
public static class DependencyRule
{
    /// <summary>The simulation side.</summary>
    public static readonly string[] Simulation = ["src/VirtualDevice", "src/Simulation", "src/Board.Emulation"];

    /// <summary>Production projects and the projects each may reference.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> Allowed = new Dictionary<string, string[]>
    {
        ["src/Shared"] = [],
        ["src/DeviceFirmware"] = ["src/Shared"],
        ["src/DeviceCore.Nano"] = [],
        ["src/BoardProfiles"] = [],
        ["src/Gateway.Core"] = ["src/Shared"],
        ["src/Gateway.Mqtt"] = ["src/Shared", "src/Gateway.Core"],
        ["src/Gateway.Persistence"] = ["src/Shared", "src/Gateway.Core"],
        ["src/Gateway"] = ["src/Shared", "src/Gateway.Core", "src/Gateway.Mqtt", "src/Gateway.Persistence", "src/BoardProfiles"],
        ["src/Cli"] = [],
    };

    /// <summary>Packages (name prefixes) and frameworks a project must not reference.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> ForbiddenPackages = new Dictionary<string, string[]>
    {
        ["src/Shared"] = ["*"],
        ["src/DeviceFirmware"] = ["*"],
        ["src/Gateway.Core"] = ["MQTTnet", "Microsoft.AspNetCore", "Microsoft.Data.Sqlite", "Npgsql", "System.CommandLine", "Spectre"],
        ["src/Gateway.Mqtt"] = ["Microsoft.AspNetCore", "Microsoft.Data.Sqlite", "Npgsql", "System.CommandLine", "Spectre"],
        ["src/Gateway.Persistence"] = ["MQTTnet", "Microsoft.AspNetCore", "System.CommandLine", "Spectre"],
    };

    /// <summary>Assemblies (name prefixes) the gateway core's assembly must not reference.</summary>
    public static readonly string[] ForbiddenInCore =
        ["MQTTnet", "Microsoft.AspNetCore", "Microsoft.Data.Sqlite", "Npgsql", "System.CommandLine", "Spectre", "IotOta.VirtualDevice", "IotOta.Simulation", "IotOta.Bench"];

    public static bool IsSimulation(string folder) => Simulation.Contains(folder);

    /// <summary>Every way the project breaks the rule, one sentence each (empty: it keeps it).</summary>
    public static IEnumerable<string> Violations(ProjectFile p)
    {
        if (IsSimulation(p.Folder)) yield break;
        foreach (string r in p.Projects)
        {
            if (IsSimulation(r) || r.StartsWith("tests/", StringComparison.Ordinal) || r.StartsWith("bench", StringComparison.Ordinal))
                yield return $"{p.Folder} references {r}: production code must not depend on the simulation side, tests or the benchmark";
            else if (Allowed.TryGetValue(p.Folder, out var allowed) && !allowed.Contains(r))
                yield return $"{p.Folder} references {r}; it may reference only {(allowed.Length == 0 ? "nothing" : string.Join(", ", allowed))}";
        }
        if (ForbiddenPackages.TryGetValue(p.Folder, out var banned))
        {
            foreach (string pkg in p.Packages.Concat(p.Frameworks))
                if (banned.Any(b => b == "*" || pkg.StartsWith(b, StringComparison.OrdinalIgnoreCase)))
                    yield return $"{p.Folder} references {pkg}, which it must not";
            if (banned.Contains("Microsoft.AspNetCore") && p.Sdk.Contains("Web", StringComparison.OrdinalIgnoreCase))
                yield return $"{p.Folder} uses the {p.Sdk} SDK (ASP.NET Core), which it must not";
        }
    }
}
