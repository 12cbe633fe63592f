using IotOta.Gateway.Rollouts;
using System.Security.Claims;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace IotOta.Gateway.Api;

public sealed record LoginRequest(string? User, string? Password);

/// <summary>The REST API under /api: images, devices, groups, rollouts and their event stream. All but login need
/// a session cookie (from POST /api/login) or HTTP basic credentials.</summary>
public static class ApiEndpoints
{
    /// <summary>How often the event stream sends a progress event.</summary>
    public static TimeSpan EventInterval { get; set; } = TimeSpan.FromMilliseconds(300);

    public static void MapIotOtaApi(this WebApplication app)
    {
        var open = app.MapGroup("/api").WithTags("session");
        open.AddEndpointFilter(ProblemFilter);
        open.MapPost("/login", async (LoginRequest req, HttpContext ctx, AdminCredentials creds) =>
        {
            if (!creds.Matches(req.User, req.Password)) return Results.Problem("wrong user or password", statusCode: 401, title: "Login failed");
            var id = new ClaimsIdentity([new Claim(ClaimTypes.Name, req.User!)], CookieAuthenticationDefaults.AuthenticationScheme);
            await ctx.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, new ClaimsPrincipal(id));
            return Results.Ok(new { user = req.User });
        }).AllowAnonymous();
        // The only API endpoint without authentication besides login/logout: liveness, no data.
        open.MapGet("/health", () => Results.Ok(new { status = "ok" })).AllowAnonymous().WithTags("health");
        open.MapPost("/logout", async (HttpContext ctx) =>
        {
            await ctx.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
            return Results.NoContent();
        }).AllowAnonymous();

        var api = app.MapGroup("/api").RequireAuthorization();
        api.AddEndpointFilter(ProblemFilter);
        api.MapGet("/me", (ClaimsPrincipal user) => Results.Ok(new { user = user.Identity?.Name })).WithTags("session");
        api.MapGet("/status", (RolloutManager m) => Results.Ok(new
        {
            mqttConnected = m.Gateway.Broker.IsConnected,
            devices = m.Gateway.Registry.All().Count,
            online = m.Gateway.Registry.Online().Count,
            activeRollout = m.Rollouts.List().FirstOrDefault(r => RolloutStates.IsActive(r.State))?.Id,
            maxImageBytes = m.Options.MaxImageBytes,
        })).WithTags("fleet");

        var images = api.MapGroup("/images").WithTags("images");
        images.MapGet("/", (RolloutManager m) => Results.Ok(m.Images.List()));
        images.MapGet("/{id}", (string id, RolloutManager m) =>
            m.Images.Get(id) is { } i ? Results.Ok(i) : Results.Problem($"image '{id}' is not stored", statusCode: 404, title: "No such image"));
        images.MapDelete("/{id}", (string id, RolloutManager m) =>
        {
            m.DeleteImage(id);
            return Results.NoContent();
        });
        images.MapPost("/", async (HttpRequest req, RolloutManager m) =>
        {
            if (!req.HasFormContentType) throw new ApiProblem(400, "Not a form", "upload the image as multipart/form-data with fields file, version and board");
            var form = await req.ReadFormAsync();
            var file = form.Files.GetFile("file") ?? form.Files.FirstOrDefault();
            if (file == null) throw new ApiProblem(400, "Missing file", "the form field 'file' is required");
            if (file.Length > m.Options.MaxImageBytes)
                throw new ApiProblem(413, "Image too large", $"the image has {file.Length} bytes; the limit is {m.Options.MaxImageBytes} bytes");
            using var ms = new MemoryStream((int)file.Length);
            await file.CopyToAsync(ms);
            var stored = m.AddImage(ms.ToArray(), form["version"], form["board"], Path.GetFileName(file.FileName));
            return Results.Created($"/api/images/{stored.Id}", stored);
        }).Accepts<IFormFile>("multipart/form-data").DisableAntiforgery();

        api.MapGet("/devices", (RolloutManager m) => Results.Ok(m.Devices())).WithTags("fleet");
        api.MapGet("/groups", (RolloutManager m) => Results.Ok(m.Groups())).WithTags("fleet");
        api.MapGet("/overheads", (RolloutManager m) => Results.Ok(m.Gateway.Overheads.Snapshot())).WithTags("fleet");

        var rollouts = api.MapGroup("/rollouts").WithTags("rollouts");
        rollouts.MapGet("/", (RolloutManager m) => Results.Ok(m.Rollouts.List().Select(m.View).ToList()));
        rollouts.MapPost("/", (CreateRolloutRequest req, RolloutManager m, bool? start) =>
        {
            var r = m.Create(req);
            if (start == true) m.Start(r.Id);
            return Results.Created($"/api/rollouts/{r.Id}", m.View(r));
        });
        rollouts.MapGet("/{id}", (string id, RolloutManager m) => Results.Ok(m.View(m.Get(id))));
        rollouts.MapPost("/{id}/start", (string id, RolloutManager m) => Results.Ok(m.View(m.Start(id))));
        rollouts.MapPost("/{id}/pause", (string id, RolloutManager m) => Results.Ok(m.View(m.Pause(id))));
        rollouts.MapPost("/{id}/resume", (string id, RolloutManager m) => Results.Ok(m.View(m.Resume(id))));
        rollouts.MapPost("/{id}/abort", (string id, RolloutManager m) => Results.Ok(m.View(m.Abort(id))));
        rollouts.MapGet("/{id}/events", StreamEvents).Produces(200, contentType: "text/event-stream");
    }

    private static async ValueTask<object?> ProblemFilter(EndpointFilterInvocationContext ctx, EndpointFilterDelegate next)
    {
        try
        {
            return await next(ctx);
        }
        catch (ApiProblem p)
        {
            return Results.Problem(p.Message, statusCode: p.Status, title: p.Title);
        }
        catch (BadHttpRequestException e)
        {
            return Results.Problem(e.Message, statusCode: e.StatusCode, title: "Bad request");
        }
    }

    /// <summary>Server-Sent Events: a "progress" event (the rollout view with its RolloutSnapshot) every interval
    /// until the rollout ends, then an "end" event with the final view.</summary>
    private static async Task StreamEvents(string id, HttpContext ctx, RolloutManager m, IOptions<JsonOptions> json)
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
        var ct = ctx.RequestAborted;
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
                var view = m.View(r);
                bool ended = RolloutStates.IsTerminal(view.State);
                string data = JsonSerializer.Serialize(view, json.Value.SerializerOptions);
                await ctx.Response.WriteAsync($"id: {++seq}\nevent: {(ended ? "end" : "progress")}\ndata: {data}\n\n", Encoding.UTF8, ct);
                await ctx.Response.Body.FlushAsync(ct);
                if (ended) return;
                await Task.Delay(EventInterval, ct);
            }
        }
        catch (OperationCanceledException)
        {
            // the client went away
        }
    }
}
