using System.Text.Json.Serialization;
using IotOta.Gateway.Api;
using IotOta.Gateway.Persistence;
using IotOta.Gateway.Metrics;
using IotOta.Gateway.WebConsole;
using Prometheus;

namespace IotOta.Gateway.Serve;

/// <summary>The operator's side of the server host in one place: authentication with server-side sessions and login
/// throttling, antiforgery, the audit log, problem answers, OpenAPI, metrics, and the order of the middleware.</summary>
public static class AdminSurface
{
    public static void AddIotOtaAdmin(this IServiceCollection services, AdminCredentials credentials, ServeOptions o, GatewayDatabase? db, RolloutOutcomes outcomes)
    {
        services.AddIotOtaAuth(credentials, o.LoginThrottle);
        services.AddIotOtaAntiforgery();
        services.AddSingleton<IAuditLog>(sp => db != null ? new DatabaseAuditLog(db, TimeProvider.System) : new InMemoryAuditLog(TimeProvider.System));
        services.AddSingleton(outcomes);
        services.AddSingleton(new EventStreamGate(o.MaxEventStreamsPerClient, o.MaxEventStreams));
        services.AddSingleton(sp => new GatewayMetrics(sp.GetRequiredService<RolloutManager>(), sp.GetRequiredService<EventStreamGate>(), sp.GetRequiredService<SessionStore>()));
        // Sessions live as long as this process (like the in-memory stores): no key ring on disk.
        services.AddSingleton<Microsoft.AspNetCore.DataProtection.IDataProtectionProvider>(new Microsoft.AspNetCore.DataProtection.EphemeralDataProtectionProvider());
        services.AddIotOtaProblems();
        services.AddIotOtaOpenApi();
        services.ConfigureHttpJsonOptions(j => j.SerializerOptions.NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals);
    }

    public static void UseIotOtaAdmin(this WebApplication app)
    {
        app.UseIotOtaErrors();
        app.UseIotOtaSecurityHeaders();
        app.UseStatusCodePages();
        app.UseAuthentication();
        app.UseIotOtaRequestGuard();
        app.UseAuthorization();
        app.MapOpenApi();
        app.MapIotOtaApi();
        app.MapConsole();
        // Prometheus text format; needs the operator's credentials like the API (scrape with basic_auth).
        var registry = app.Services.GetRequiredService<GatewayMetrics>().Registry;
        app.MapGet("/metrics", async (HttpResponse res, CancellationToken ct) =>
        {
            var text = new MemoryStream();
            await registry.CollectAndExportAsTextAsync(text, ct);
            text.Position = 0;
            return Results.Stream(text, "text/plain; version=0.0.4; charset=utf-8");
        }).RequireAuthorization()
            .WithTags("metrics").WithDescription("Prometheus metrics (text exposition format): rollout progress, bytes, groups, device states, overhead and forwarding-rate histograms.")
            .Produces<string>(200, "text/plain").ProducesProblem(401);
    }
}
