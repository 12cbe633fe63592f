using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace IotOta.BoardProfiles;

/// <summary>A board profile was missing, not valid JSON, or broke a rule; the message names the file and the field.</summary>
public sealed class BoardProfileException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>How the board's update sink accepts writes.</summary>
public enum SinkMode
{
    /// <summary>Writes at any offset of an erased slot (ESP-IDF-style ota slots).</summary>
    RandomOffset,
    /// <summary>Appends in order only (nanoFramework In-Field-Update session).</summary>
    Sequential,
}

/// <summary>One partition of a layout. Offset and size are hex ("0x10000") or decimal strings.</summary>
public sealed record BoardPartition(string Name, string Type, int Offset, int Size)
{
    public int End => Offset + Size;
}

/// <summary>
/// One board (boards/*.json, schema in boards/README.md): flash, partition layouts (stock nanoFramework and MCUboot
/// In-Field-Update), which image types can be updated, the sink's write mode, the managed heap and the device core's
/// budget in it, and the chunk size chosen for that budget. Load with <see cref="Load(string)"/> or <see cref="Named"/>;
/// every rule is checked on load.
/// </summary>
public sealed class BoardProfile
{
    public const int AppAlignment = 64 * 1024;
    public static readonly string[] ImageTypes = ["nanoClr", "deployment"];
    public static readonly string[] RequiredRoles = ["slotA", "slotB", "state", "staging", "bootData"];

    public required string Name { get; init; }
    public string Description { get; init; } = "";
    public required string Chip { get; init; }
    public required string NanoTarget { get; init; }
    public required int FlashSize { get; init; }
    public required int SectorSize { get; init; }
    public int PsramBytes { get; init; }
    /// <summary>Managed heap left for the application with Wi-Fi and MQTT running.</summary>
    public required int ManagedHeapBytes { get; init; }
    /// <summary>What the device core may allocate of it (buffers, manifest, bitmaps).</summary>
    public required int CoreHeapBudget { get; init; }
    /// <summary>Where managedHeapBytes and coreHeapBudget come from (sources, or that none was found).</summary>
    public string HeapSource { get; init; } = "";
    public required int MaxChunkSize { get; init; }
    /// <summary>DeviceConfig.MaxMembers on this board (fan-out tables are sized for it once). Default 256.</summary>
    public int MaxMembers { get; init; } = 256;
    /// <summary>DeviceConfig.ForwardQueueCapacity on this board. Default 64.</summary>
    public int ForwardQueueCapacity { get; init; } = 64;
    /// <summary>DeviceConfig.MaxPeerConnections: peer sockets (in and out together) the board can hold besides MQTT and
    /// the listener. Default 6 (ESP-IDF's default of 10 lwIP sockets less MQTT, the listener and headroom).</summary>
    public int MaxPeerConnections { get; init; } = 6;
    public required SinkMode SinkMode { get; init; }
    public required IReadOnlyList<string> UpdatableImages { get; init; }
    public required string UpdateImage { get; init; }
    public required string UpdateLayout { get; init; }
    public required IReadOnlyDictionary<string, IReadOnlyList<BoardPartition>> Layouts { get; init; }
    public required IReadOnlyDictionary<string, string> Roles { get; init; }
    /// <summary>Where the board program keeps its slots on stock nanoFramework (src/Board): files on the internal
    /// littlefs partition. Null when the profile has no "fileStore".</summary>
    public BoardFileStore? FileStore { get; init; }

    /// <summary>The partition that plays a role (slotA, slotB, state, staging, bootData) in the update layout.</summary>
    public BoardPartition Role(string role) => Layouts[UpdateLayout].First(p => p.Name == Roles[role]);

    public int SlotSize => Role("slotA").Size;
    public int UpdateStateSize => Role("state").Size;
    public int StagingSize => Role("staging").Size;

    /// <summary>Folder that holds the profiles: boards/ next to the running assembly (copied there by the build),
    /// else the repository's boards/ found upwards from the current directory.</summary>
    public static string DefaultDirectory()
    {
        string local = Path.Combine(AppContext.BaseDirectory, "boards");
        if (Directory.Exists(local)) return local;
        for (DirectoryInfo? d = new(Directory.GetCurrentDirectory()); d != null; d = d.Parent)
        {
            string b = Path.Combine(d.FullName, "boards");
            if (File.Exists(Path.Combine(b, "README.md")) && Directory.EnumerateFiles(b, "*.json").Any()) return b;
        }
        throw new BoardProfileException("no boards/ folder found next to the application or above " + Directory.GetCurrentDirectory());
    }

    /// <summary>Every profile in the folder, by name.</summary>
    public static IReadOnlyList<BoardProfile> All(string? directory = null)
        => Directory.EnumerateFiles(directory ?? DefaultDirectory(), "*.json").Order(StringComparer.Ordinal).Select(Load).ToList();

    /// <summary>The profile boards/{name}.json.</summary>
    public static BoardProfile Named(string name, string? directory = null)
    {
        string dir = directory ?? DefaultDirectory();
        string path = Path.Combine(dir, name + ".json");
        if (!File.Exists(path))
        {
            string known = string.Join(", ", Directory.EnumerateFiles(dir, "*.json").Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal));
            throw new BoardProfileException($"unknown board '{name}': no {path} (known: {known})");
        }
        return Load(path);
    }

    public static BoardProfile Load(string path)
    {
        string text;
        try { text = File.ReadAllText(path); }
        catch (IOException e) { throw new BoardProfileException($"{path}: cannot read: {e.Message}", e); }
        return Parse(text, path);
    }

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNameCaseInsensitive = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase, allowIntegerValues: false) },
    };

    private sealed record RawPartition(string? Name, string? Type, string? Offset, string? Size);

    private sealed record Raw(string? Name, string? Description, string? Chip, string? NanoTarget, int? FlashSize, int? SectorSize,
        int? PsramBytes, int? ManagedHeapBytes, int? CoreHeapBudget, int? MaxChunkSize, int? MaxMembers, int? ForwardQueueCapacity, int? MaxPeerConnections, SinkMode? SinkMode,
        string[]? UpdatableImages, string? UpdateImage, string? UpdateLayout, Dictionary<string, RawPartition[]>? Layouts,
        Dictionary<string, string>? Roles)
    {
        public RawFileStore? FileStore { get; init; }
        public string? HeapSource { get; init; }
    }

    private sealed record RawFileStore(string? Partition, int? SlotBytes, int? StateBytes, int? BootBytes, int? ReserveBytes);

    /// <summary>Parses and validates one profile; <paramref name="source"/> names it in errors.</summary>
    public static BoardProfile Parse(string json, string source = "<profile>")
    {
        Raw? raw;
        try { raw = JsonSerializer.Deserialize<Raw>(json, Json); }
        catch (JsonException e) { throw new BoardProfileException($"{source}: not a valid board profile: {e.Message}", e); }
        if (raw == null) throw new BoardProfileException($"{source}: empty profile");
        string Err(string field, string what) => $"{source}: {field}: {what}";
        T Need<T>(T? v, string field) where T : struct => v ?? throw new BoardProfileException(Err(field, "missing"));
        string NeedS(string? v, string field) => string.IsNullOrWhiteSpace(v) ? throw new BoardProfileException(Err(field, "missing")) : v;

        string name = NeedS(raw.Name, "name");
        string fileName = Path.GetFileNameWithoutExtension(source);
        if (source.EndsWith(".json", StringComparison.OrdinalIgnoreCase) && fileName != name)
            throw new BoardProfileException(Err("name", $"'{name}' does not match the file name '{fileName}'"));
        int flash = Need(raw.FlashSize, "flashSize");
        int sector = Need(raw.SectorSize, "sectorSize");
        if (sector <= 0 || (sector & (sector - 1)) != 0) throw new BoardProfileException(Err("sectorSize", $"{sector} is not a positive power of two"));
        if (flash <= 0 || flash % sector != 0) throw new BoardProfileException(Err("flashSize", $"{flash} is not a positive multiple of the sector size {sector}"));
        int heap = Need(raw.ManagedHeapBytes, "managedHeapBytes");
        int budget = Need(raw.CoreHeapBudget, "coreHeapBudget");
        int chunk = Need(raw.MaxChunkSize, "maxChunkSize");
        if (heap <= 0) throw new BoardProfileException(Err("managedHeapBytes", "must be positive"));
        if (budget <= 0 || budget > heap) throw new BoardProfileException(Err("coreHeapBudget", $"{budget} must be positive and at most managedHeapBytes {heap}"));
        if (chunk < 256 || chunk > 65536 || (chunk & (chunk - 1)) != 0)
            throw new BoardProfileException(Err("maxChunkSize", $"{chunk} must be a power of two from 256 to 65536"));
        // A packet costs the core a send buffer and a staging buffer, and the MQTT client about twice its size while
        // it is received: four chunks must fit the core's budget.
        if (4L * chunk > budget)
            throw new BoardProfileException(Err("maxChunkSize", $"{chunk} is too large for coreHeapBudget {budget}: 4 x chunk must fit (send buffer, staging buffer, 2 x MQTT receive)"));
        int members = raw.MaxMembers ?? 256;
        if (members < 2 || members > 4096) throw new BoardProfileException(Err("maxMembers", $"{members} must be from 2 to 4096"));
        int queue = raw.ForwardQueueCapacity ?? 64;
        if (queue < 4 || queue > 1024) throw new BoardProfileException(Err("forwardQueueCapacity", $"{queue} must be from 4 to 1024"));
        int peers = raw.MaxPeerConnections ?? 6;
        if (peers < 2 || peers > 64) throw new BoardProfileException(Err("maxPeerConnections", $"{peers} must be from 2 to 64 (a device needs one connection in and one out to take part)"));
        SinkMode mode = Need(raw.SinkMode, "sinkMode");
        string[] images = raw.UpdatableImages ?? throw new BoardProfileException(Err("updatableImages", "missing"));
        if (images.Length == 0) throw new BoardProfileException(Err("updatableImages", "empty"));
        foreach (string i in images)
            if (!ImageTypes.Contains(i)) throw new BoardProfileException(Err("updatableImages", $"unknown image type '{i}' (known: {string.Join(", ", ImageTypes)})"));
        string updateImage = NeedS(raw.UpdateImage, "updateImage");
        if (!images.Contains(updateImage)) throw new BoardProfileException(Err("updateImage", $"'{updateImage}' is not in updatableImages"));
        if (raw.Layouts == null || raw.Layouts.Count == 0) throw new BoardProfileException(Err("layouts", "missing"));

        var layouts = new Dictionary<string, IReadOnlyList<BoardPartition>>();
        foreach (var (lname, parts) in raw.Layouts)
        {
            if (parts == null || parts.Length == 0) throw new BoardProfileException(Err($"layouts.{lname}", "no partitions"));
            var list = new List<BoardPartition>();
            for (int i = 0; i < parts.Length; i++)
            {
                string field = $"layouts.{lname}[{i}]";
                RawPartition rp = parts[i];
                string pname = NeedS(rp.Name, field + ".name");
                string ptype = NeedS(rp.Type, field + ".type");
                int off = Number(rp.Offset, field + ".offset", Err);
                int size = Number(rp.Size, field + ".size", Err);
                if (size <= 0) throw new BoardProfileException(Err(field, $"partition '{pname}' has size {size}"));
                if (off % sector != 0 || size % sector != 0)
                    throw new BoardProfileException(Err(field, $"partition '{pname}' at 0x{off:X} size 0x{size:X} is not aligned to the sector size 0x{sector:X}"));
                if ((long)off + size > flash)
                    throw new BoardProfileException(Err(field, $"partition '{pname}' ends at 0x{(long)off + size:X}, beyond the flash size 0x{flash:X}"));
                if (ptype == "app" && off % AppAlignment != 0)
                    throw new BoardProfileException(Err(field, $"app partition '{pname}' at 0x{off:X} is not 64 KiB-aligned"));
                if (list.Any(p => p.Name == pname)) throw new BoardProfileException(Err(field, $"partition name '{pname}' used twice"));
                list.Add(new BoardPartition(pname, ptype, off, size));
            }
            var sorted = list.OrderBy(p => p.Offset).ToList();
            for (int i = 1; i < sorted.Count; i++)
                if (sorted[i].Offset < sorted[i - 1].End)
                    throw new BoardProfileException(Err($"layouts.{lname}", $"partitions '{sorted[i - 1].Name}' and '{sorted[i].Name}' overlap"));
            layouts[lname] = list;
        }
        string updateLayout = NeedS(raw.UpdateLayout, "updateLayout");
        if (!layouts.TryGetValue(updateLayout, out var ul)) throw new BoardProfileException(Err("updateLayout", $"no layout named '{updateLayout}'"));
        var roles = raw.Roles ?? throw new BoardProfileException(Err("roles", "missing"));
        foreach (string r in RequiredRoles)
        {
            if (!roles.TryGetValue(r, out string? pn)) throw new BoardProfileException(Err("roles", $"role '{r}' missing"));
            if (ul.All(p => p.Name != pn)) throw new BoardProfileException(Err($"roles.{r}", $"partition '{pn}' is not in layout '{updateLayout}'"));
        }
        BoardPartition Find(string r) => ul.First(p => p.Name == roles[r]);
        if (Find("slotA").Size != Find("slotB").Size)
            throw new BoardProfileException(Err("roles", $"slotA '{roles["slotA"]}' and slotB '{roles["slotB"]}' differ in size"));
        int entry = (16 + chunk + sector - 1) / sector * sector; // DeviceFirmware.Flash.StagingArea's entry size
        if (mode == SinkMode.Sequential && Find("staging").Size < entry)
            throw new BoardProfileException(Err("roles.staging", $"partition '{roles["staging"]}' cannot hold one staged packet of {chunk} bytes ({entry} bytes of flash)"));

        BoardFileStore? fileStore = raw.FileStore == null ? null : BoardFileStore.Check(raw.FileStore.Partition, raw.FileStore.SlotBytes,
            raw.FileStore.StateBytes, raw.FileStore.BootBytes, raw.FileStore.ReserveBytes, layouts, sector, Err);
        return new BoardProfile
        {
            FileStore = fileStore,
            Name = name,
            Description = raw.Description ?? "",
            HeapSource = raw.HeapSource ?? "",
            Chip = NeedS(raw.Chip, "chip"),
            NanoTarget = NeedS(raw.NanoTarget, "nanoTarget"),
            FlashSize = flash,
            SectorSize = sector,
            PsramBytes = raw.PsramBytes ?? 0,
            ManagedHeapBytes = heap,
            CoreHeapBudget = budget,
            MaxChunkSize = chunk,
            MaxMembers = members,
            ForwardQueueCapacity = queue,
            MaxPeerConnections = peers,
            SinkMode = mode,
            UpdatableImages = images,
            UpdateImage = updateImage,
            UpdateLayout = updateLayout,
            Layouts = layouts,
            Roles = roles,
        };
    }

    private static int Number(string? text, string field, Func<string, string, string> err)
    {
        if (string.IsNullOrWhiteSpace(text)) throw new BoardProfileException(err(field, "missing"));
        string t = text.Trim();
        bool ok = t.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? int.TryParse(t.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int v)
            : int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out v);
        if (!ok || v < 0) throw new BoardProfileException(err(field, $"'{text}' is not a hex (0x…) or decimal number"));
        return v;
    }

    public override string ToString() => $"{Name} ({Chip}, {NanoTarget}, {FlashSize / (1024 * 1024)} MB flash, {SinkMode} sink, chunk {MaxChunkSize}, core budget {CoreHeapBudget} B)";
}
