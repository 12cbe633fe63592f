namespace IotOta.Gateway.Serve;

/// <summary>GET /api/gateway (no sign-in needed: it tells only which instance is active and where): on the active
/// gateway and on a standby alike, so that an operator or a load balancer finds the active one.</summary>
public static class GatewayRoleEndpoints
{
    public const string Path = "/api/gateway";

    public static IEndpointConventionBuilder MapGatewayRole(this IEndpointRouteBuilder app, Func<GatewayRoleView> view) =>
        app.MapGet(Path, () => Results.Json(view())).AllowAnonymous().WithName("GatewayRole");
}
