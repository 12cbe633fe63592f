using System.Net;

namespace IotOta.Gateway.Serve;

/// <summary>
/// What a standby `serve` shows while another instance holds the lease: on the same URLs, GET /api/gateway (role
/// standby and who is active), a console page saying the same with a link to the active one, and 503 with that
/// message for every other API call. Stopped (freeing the port) when this process takes over.
/// </summary>
public sealed class StandbyHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private StandbyHost(WebApplication app) => _app = app;

    public static async Task<StandbyHost> StartAsync(string urls, Func<GatewayRoleView> view, CancellationToken ct)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--urls", urls] });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();
        app.MapGatewayRole(view, signedIn: false);
        app.Map("/api/{**rest}", () =>
        {
            var v = view();
            return Results.Problem(statusCode: (int)HttpStatusCode.ServiceUnavailable, title: "standby gateway",
                detail: $"this gateway ({v.Instance}) is a standby; the active one is {v.ActiveInstance ?? "unknown"} at {v.ActiveUrl ?? "?"}");
        });
        app.MapFallback(() =>
        {
            var v = view();
            string active = v.ActiveUrl == null ? "unknown" : $"<a href=\"{WebUtility.HtmlEncode(v.ActiveUrl)}\">{WebUtility.HtmlEncode(v.ActiveInstance)}</a> (since {v.ActiveSince:u})";
            return Results.Content($"<!doctype html><html><head><meta charset=\"utf-8\"><title>IotOta gateway (standby)</title><meta http-equiv=\"refresh\" content=\"2\"></head>" +
                                   $"<body><h1>Standby gateway</h1><p>This instance ({WebUtility.HtmlEncode(v.Instance)}) waits for the lease and takes over when the active one stops.</p>" +
                                   $"<p>Active gateway: {active}</p></body></html>", "text/html; charset=utf-8", null, (int)HttpStatusCode.ServiceUnavailable);
        });
        await app.StartAsync(ct);
        return new StandbyHost(app);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
