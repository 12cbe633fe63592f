namespace IotOta.Gateway.Serve;

/// <summary>GET /api/gateway on the active gateway (signed in, like the rest of its API) and on a standby (open: a
/// standby has no operator accounts loaded; it tells only which instance is active and where), so that an operator or
/// a load balancer finds the active one.</summary>
public static class GatewayRoleEndpoints
{
    public const string Path = "/api/gateway";

    public static IEndpointConventionBuilder MapGatewayRole(this IEndpointRouteBuilder app, Func<GatewayRoleView> view, bool signedIn)
    {
        var endpoint = app.MapGet(Path, () => TypedResults.Ok(view())).WithName("GatewayRole").WithTags("gateway");
        return signedIn ? endpoint.RequireAuthorization() : endpoint.AllowAnonymous();
    }
}
