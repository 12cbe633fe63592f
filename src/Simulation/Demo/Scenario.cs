using System.Text.Json;
using System.Text.Json.Serialization;

namespace IotOta.Simulation.Demo;

/// <summary>
/// A device-test scenario (scenarios/*.json, documented in scenarios/README.md): fleet shape, board mix, links,
/// faults to inject mid-rollout, and what must hold at the end. Run by <see cref="ScenarioRunner"/>
/// (`demo --scenario FILE`). Unknown fields are refused, so a typo is an error, not a silently ignored setting.
/// </summary>
public sealed record Scenario
{
    public required string Name { get; init; }
    public string Description { get; init; } = "";
    public int Devices { get; init; } = 12;
    public int Groups { get; init; } = 3;
    /// <summary>Board profiles given to the devices round-robin; empty = the plain virtual layout.</summary>
    public IReadOnlyList<string> Boards { get; init; } = [];
    /// <summary>Bytes; null = 90 % of the smallest board slot (or 1 MiB without boards).</summary>
    public int? ImageSize { get; init; }
    public int? ChunkSize { get; init; }
    public ScenarioLinks Links { get; init; } = new();
    public IReadOnlyList<ScenarioFault> Faults { get; init; } = [];
    public ScenarioExpectations Expect { get; init; } = new();
    public int TimeoutSeconds { get; init; } = 120;
    public int Seed { get; init; } = 1;

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
    };

    /// <summary>Reads and checks a scenario file; ArgumentException names the file and what is wrong.</summary>
    public static Scenario Load(string path)
    {
        string? found = Find(path);
        if (found == null) throw new ArgumentException($"scenario file not found: {path} (looked in {Directory.GetCurrentDirectory()} and the folders above it)");
        return Parse(File.ReadAllText(found), path);
    }

    /// <summary>The path as given, or — relative paths, as `dotnet run --project` starts in the project's folder —
    /// the same relative path under a folder above the current one (the repository root).</summary>
    private static string? Find(string path)
    {
        if (File.Exists(path)) return path;
        if (Path.IsPathRooted(path)) return null;
        for (DirectoryInfo? d = new DirectoryInfo(Directory.GetCurrentDirectory()).Parent; d != null; d = d.Parent)
        {
            string candidate = Path.Combine(d.FullName, path);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    public static Scenario Parse(string json, string source = "<scenario>")
    {
        Scenario? s;
        try
        {
            s = JsonSerializer.Deserialize<Scenario>(json, Json);
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"{source}: {e.Message}", e);
        }
        if (s == null) throw new ArgumentException($"{source}: empty scenario");
        s.Validate(source);
        return s;
    }

    private void Validate(string source)
    {
        if (string.IsNullOrWhiteSpace(Name)) throw new ArgumentException($"{source}: 'name' is required");
        try
        {
            ToDemoOptions().Validate();
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"{source}: {e.Message}", e);
        }
        for (int i = 0; i < Faults.Count; i++)
        {
            var f = Faults[i];
            string at = $"{source}: faults[{i}]";
            if (f.AtPercent is < 0 or > 99) throw new ArgumentException($"{at}: atPercent must be 0..99");
            if (f.OffSeconds is < 0 or > 600) throw new ArgumentException($"{at}: offSeconds must be 0..600");
            if (f.Devices.Count == 0) throw new ArgumentException($"{at}: name at least one device (node ids 1..{Devices})");
            foreach (int d in f.Devices)
                if (d < 1 || d > Devices) throw new ArgumentException($"{at}: device {d} is not in the fleet (node ids 1..{Devices})");
        }
        if (Expect.MaxGatewayPerImage is <= 0) throw new ArgumentException($"{source}: expect.maxGatewayPerImage must be positive");
        if (Expect.MaxStagingFraction is <= 0 or > 1) throw new ArgumentException($"{source}: expect.maxStagingFraction must be in (0, 1]");
        if (Expect.MinUpdated is < 0 || Expect.MinUpdated > Devices) throw new ArgumentException($"{source}: expect.minUpdated must be 0..{Devices}");
    }

    /// <summary>The demo options this scenario runs with.</summary>
    public DemoOptions ToDemoOptions() => new()
    {
        Devices = Devices,
        Groups = Groups,
        Boards = Boards,
        ImageSize = ImageSize ?? 1024 * 1024,
        FitImageToBoards = ImageSize == null,
        ChunkSize = ChunkSize ?? 4096,
        GatewayUpKbps = Links.GatewayUpKbps,
        DeviceUpKbps = Links.DeviceUpKbps,
        DeviceDownKbps = Links.DeviceDownKbps,
        LatencyMs = Links.LatencyMs,
        Loss = Links.Loss,
        SlowFraction = Links.SlowFraction,
        SlowFactor = Links.SlowFactor,
        Seed = Seed,
        Timeout = TimeSpan.FromSeconds(TimeoutSeconds),
    };
}

/// <summary>Link emulation for every device (as the demo's link options).</summary>
public sealed record ScenarioLinks
{
    public double GatewayUpKbps { get; init; }
    public double DeviceUpKbps { get; init; }
    public double DeviceDownKbps { get; init; }
    public double LatencyMs { get; init; }
    public double Loss { get; init; }
    public double SlowFraction { get; init; }
    public double SlowFactor { get; init; } = 1;
}

/// <summary>What happens to devices mid-rollout.</summary>
public enum ScenarioFaultKind
{
    /// <summary>The devices lose power (no goodbye: the broker sends their last will) and boot again from their
    /// flash after offSeconds, resuming what they hold.</summary>
    PowerCut,
    /// <summary>The devices leave the fleet (offline, the gateway plans their work again elsewhere) and rejoin after
    /// offSeconds — the same mechanism as a power cut, kept apart to name the intent; use a longer offSeconds.</summary>
    LeaveRejoin,
}

/// <summary>One fault: which devices, when (share of the fleet's packets held), for how long.</summary>
public sealed record ScenarioFault
{
    public required ScenarioFaultKind Kind { get; init; }
    /// <summary>Node ids (1..devices).</summary>
    public required IReadOnlyList<int> Devices { get; init; }
    /// <summary>The fault strikes once the fleet holds this percentage of all packets.</summary>
    public int AtPercent { get; init; } = 40;
    public double OffSeconds { get; init; } = 1;
}

/// <summary>What must hold at the end; the run fails otherwise.</summary>
public sealed record ScenarioExpectations
{
    /// <summary>Devices updated at least (null = all).</summary>
    public int? MinUpdated { get; init; }
    /// <summary>Gateway payload ÷ image size at most (null = not checked).</summary>
    public double? MaxGatewayPerImage { get; init; }
    /// <summary>Per board: staging high-water ÷ capacity at most (null = not checked).</summary>
    public double? MaxStagingFraction { get; init; }
}
