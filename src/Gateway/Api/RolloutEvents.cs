using IotOta.Gateway.Rollouts;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace IotOta.Gateway.Api;

/// <summary>GET /api/rollouts/{id}/events: Server-Sent Events. Capped per client (<see cref="EventStreamGate"/>); a
/// stream opened with a console session ends when that session is revoked (logout).</summary>
public static class RolloutEvents
{
    public const string Description =
        "Server-Sent Events (text/event-stream): an event `progress` every interval whose data is the RolloutView as JSON, " +
        "until the rollout ends; then one event `end` with the final RolloutView, and the stream closes. Each event has an `id`. " +
        "A stream ends too when the session that opened it logs out. At most a few streams per client (429 beyond).";

    /// <summary>How often the event stream sends a progress event.</summary>
    public static TimeSpan Interval { get; set; } = TimeSpan.FromMilliseconds(300);

    public static async Task StreamAsync(string id, HttpContext ctx, RolloutManager m, RolloutOutcomes outcomes, EventStreamGate gate,
        SessionStore sessions, IOptions<JsonOptions> json)
    {
        Rollout r;
        try
        {
            r = m.Get(id);
        }
        catch (ApiProblem p)
        {
            await Results.Problem(p.Message, statusCode: p.Status, title: p.Title).ExecuteAsync(ctx);
            return;
        }
        var session = ctx.User.Identity?.AuthenticationType == CookieAuthenticationDefaults.AuthenticationScheme
            ? sessions.Get(ctx.User.FindFirst(SessionStore.ClaimType)?.Value) : null;
        string client = session != null ? "session:" + session.Id : $"basic:{ctx.User.Identity?.Name}@{LoginThrottle.ClientOf(ctx)}";
        using var lease = gate.TryOpen(client, out string? refusal);
        if (lease == null)
        {
            await Results.Problem(refusal, statusCode: 429, title: "Too many event streams").ExecuteAsync(ctx);
            return;
        }
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, session?.Ended ?? CancellationToken.None);
        var ct = linked.Token;
        ctx.Response.ContentType = "text/event-stream";
        ctx.Response.Headers.CacheControl = "no-cache";
        ctx.Response.Headers["X-Accel-Buffering"] = "no";
        int seq = 0;
        try
        {
            await ctx.Response.WriteAsync(": iotota rollout events\n\n", ct);
            await ctx.Response.Body.FlushAsync(ct);
            while (!ct.IsCancellationRequested)
            {
                var view = outcomes.Present(m.View(r));
                bool ended = RolloutStates.IsTerminal(view.State);
                string data = JsonSerializer.Serialize(view, json.Value.SerializerOptions);
                await ctx.Response.WriteAsync($"id: {++seq}\nevent: {(ended ? "end" : "progress")}\ndata: {data}\n\n", Encoding.UTF8, ct);
                await ctx.Response.Body.FlushAsync(ct);
                if (ended) return;
                await Task.Delay(Interval, ct);
            }
        }
        catch (OperationCanceledException)
        {
            // the client went away, or its session ended
        }
    }
}
