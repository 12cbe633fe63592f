namespace IotOta.Gateway.Mqtt;

/// <summary>
/// Where each virtual device's MQTT username and password come from: a file of "nodeId username password" lines
/// (# comments; the file a provisioning step wrote), or patterns in which {id} is the node id (e.g. dev-{id}). The file
/// wins for the nodes it lists. Immutable; the password pattern is never printed.
/// </summary>
public sealed record DeviceCredentialSource
{
    private IReadOnlyDictionary<uint, (string User, string Password)> FileEntriesByNode { get; init; } = new Dictionary<uint, (string, string)>();

    public string? UsernamePattern { get; init; }
    public string? PasswordPattern { get; init; }
    public string? CredentialsFile { get; init; }

    /// <summary>The (username, password) of a device, or null when neither the file nor the patterns give one.</summary>
    public (string User, string Password)? For(uint nodeId)
    {
        if (FileEntriesByNode.TryGetValue(nodeId, out var c)) return c;
        if (UsernamePattern == null) return null;
        string id = nodeId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return (UsernamePattern.Replace("{id}", id), (PasswordPattern ?? "").Replace("{id}", id));
    }

    /// <summary>Reads <see cref="CredentialsFile"/> (when set) into the lookup; throws <see cref="InvalidDataException"/>
    /// naming the file and line (never the password) when a line is malformed.</summary>
    public DeviceCredentialSource Load()
    {
        if (CredentialsFile == null) return this;
        if (!File.Exists(CredentialsFile)) throw new FileNotFoundException($"device credentials file not found: {CredentialsFile}", CredentialsFile);
        var map = new Dictionary<uint, (string, string)>();
        int n = 0;
        foreach (string raw in File.ReadLines(CredentialsFile))
        {
            n++;
            string line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            string[] f = line.Split((char[]?)null, 3, StringSplitOptions.RemoveEmptyEntries);
            if (f.Length != 3 || !uint.TryParse(f[0], out uint node) || node == 0)
                throw new InvalidDataException($"{CredentialsFile} line {n}: expected 'nodeId username password'");
            map[node] = (f[1], f[2]);
        }
        return this with { FileEntriesByNode = map };
    }

    /// <summary>Devices the file lists.</summary>
    public int FileEntries => FileEntriesByNode.Count;

    public override string ToString() =>
        $"device credentials from {(CredentialsFile != null ? CredentialsFile + (UsernamePattern != null ? " and " : "") : "")}{(UsernamePattern != null ? "pattern " + UsernamePattern : "")}";
}
