namespace IotOta.Gateway.Persistence;

/// <summary>One gateway process as the lease names it: a name (host:pid unless configured) and the URL of its API and
/// console; <see cref="Since"/> is when it became active.</summary>
public sealed record GatewayInstance(string Name, string Url)
{
    public DateTimeOffset? Since { get; set; }

    public static GatewayInstance ThisProcess(string url, string? name = null) =>
        new(string.IsNullOrWhiteSpace(name) ? $"{Environment.MachineName}:{Environment.ProcessId}" : name.Trim(), url);

    public override string ToString() => $"{Name} ({Url}){(Since is { } s ? $" since {s:u}" : "")}";
}
