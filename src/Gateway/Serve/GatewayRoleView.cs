namespace IotOta.Gateway.Serve;

/// <summary>What GET /api/gateway answers: whether this process is the active gateway or a standby, its name, and
/// which instance is active (name, API URL, since when).</summary>
public sealed record GatewayRoleView(string Role, string Instance, string? ActiveInstance, string? ActiveUrl, DateTimeOffset? ActiveSince)
{
    public const string Active = "active", Standby = "standby";
}
