using IotOta.Gateway.Rollouts;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;

namespace IotOta.Gateway.Api;

public sealed record LoginRequest(string? User, string? Password);
public sealed record UserView(string? User);
public sealed record HealthView(string Status);
public sealed record StatusView(bool MqttConnected, int Devices, int Online, string? ActiveRollout, long MaxImageBytes);

/// <summary>The REST API under /api: images, devices, groups, rollouts and their event stream. All but login need
/// a session cookie (from POST /api/login) or HTTP basic credentials; state-changing requests pass
/// <see cref="RequestGuard"/> first. Every action is written to the audit log.</summary>
public static class ApiEndpoints
{
    /// <summary>Serializes "create and start" with "start": a second start while one runs creates nothing.</summary>
    private static readonly object StartGate = new();

    public static void MapIotOtaApi(this WebApplication app)
    {
        var open = app.MapGroup("/api").WithTags("session");
        open.AddEndpointFilter(ProblemFilter);
        open.MapPost("/login", Login).AllowAnonymous()
            .Produces<UserView>().ProducesProblem(400).ProducesProblem(401).ProducesProblem(403).ProducesProblem(429);
        // The only API endpoint without authentication besides login/logout: liveness, no data.
        open.MapGet("/health", () => Results.Ok(new HealthView("ok"))).AllowAnonymous().WithTags("health").Produces<HealthView>();
        open.MapPost("/logout", async (HttpContext ctx, SessionStore sessions, IAuditLog audit) =>
        {
            string? sid = ctx.User.FindFirst(SessionStore.ClaimType)?.Value;
            if (sessions.Revoke(sid)) audit.Record(ctx.User.Identity?.Name ?? "?", "logout", null, null, LoginThrottle.ClientOf(ctx));
            await ctx.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
            return Results.NoContent();
        }).AllowAnonymous().Produces(204).ProducesProblem(403);

        var api = app.MapGroup("/api").RequireAuthorization().ProducesProblem(401);
        api.AddEndpointFilter(ProblemFilter);
        api.MapGet("/me", (ClaimsPrincipal user) => Results.Ok(new UserView(user.Identity?.Name))).WithTags("session").Produces<UserView>();
        api.MapGet("/status", (RolloutManager m) => Results.Ok(new StatusView(m.Gateway.Broker.IsConnected, m.Gateway.Registry.All().Count,
            m.Gateway.Registry.Online().Count, m.Rollouts.List().FirstOrDefault(r => RolloutStates.IsActive(r.State))?.Id, m.Options.MaxImageBytes)))
            .WithTags("fleet").Produces<StatusView>();

        var images = api.MapGroup("/images").WithTags("images");
        images.MapGet("/", (RolloutManager m) => Results.Ok(m.Images.List())).Produces<IReadOnlyList<StoredImage>>();
        images.MapGet("/{id}", (string id, RolloutManager m) =>
            m.Images.Get(id) is { } i ? Results.Ok(i) : Results.Problem($"image '{id}' is not stored", statusCode: 404, title: "No such image"))
            .Produces<StoredImage>().ProducesProblem(404);
        images.MapDelete("/{id}", (string id, RolloutManager m, HttpContext ctx, IAuditLog audit) =>
        {
            m.DeleteImage(id);
            Audit(ctx, audit, "image.delete", id);
            return Results.NoContent();
        }).Produces(204).ProducesProblem(403).ProducesProblem(404).ProducesProblem(409);
        images.MapPost("/", Upload).Produces<StoredImage>(201).ProducesProblem(400).ProducesProblem(403).ProducesProblem(409).ProducesProblem(413)
            .Accepts<IFormFile>("multipart/form-data").WithMetadata(new UploadFormMetadata()).DisableAntiforgery(); // RequestGuard checks the token (header) before the body is read

        api.MapGet("/devices", (RolloutManager m) => Results.Ok(m.Devices())).WithTags("fleet").Produces<IReadOnlyList<DeviceView>>();
        api.MapGet("/groups", (RolloutManager m) => Results.Ok(FleetViews.Groups(m.Devices()))).WithTags("fleet").Produces<IReadOnlyList<GroupSummaryView>>();
        api.MapGet("/overheads", (RolloutManager m) => Results.Ok(m.Gateway.Overheads.Snapshot())).WithTags("fleet")
            .Produces<IReadOnlyList<Scheduling.DeviceOverhead>>();

        var rollouts = api.MapGroup("/rollouts").WithTags("rollouts");
        rollouts.MapGet("/", (RolloutManager m, RolloutOutcomes o) => Results.Ok(m.Rollouts.List().Select(r => o.Present(m.View(r))).ToList()))
            .Produces<IReadOnlyList<RolloutView>>();
        rollouts.MapPost("/", (CreateRolloutRequest req, RolloutManager m, RolloutOutcomes o, bool? start, HttpContext ctx, IAuditLog audit) =>
        {
            Rollout r;
            lock (StartGate)
            {
                if (start == true && m.Rollouts.List().FirstOrDefault(x => RolloutStates.IsActive(x.State)) is { } active)
                    throw new ApiProblem(409, "Rollout in progress", $"rollout {active.Id} is {active.State}; one rollout runs at a time (nothing was created)");
                r = m.Create(req);
                Audit(ctx, audit, "rollout.create", r.Id, $"image {r.ImageId} ({r.Version})");
                if (start == true) StartOrAbort(m, r, ctx, audit);
            }
            return Results.Created($"/api/rollouts/{r.Id}", o.Present(m.View(r)));
        }).Produces<RolloutView>(201).ProducesProblem(400).ProducesProblem(403).ProducesProblem(404).ProducesProblem(409);
        rollouts.MapGet("/{id}", (string id, RolloutManager m, RolloutOutcomes o) => Results.Ok(o.Present(m.View(m.Get(id)))))
            .Produces<RolloutView>().ProducesProblem(404);
        rollouts.MapPost("/{id}/start", (string id, RolloutManager m, HttpContext ctx, IAuditLog audit) =>
        {
            lock (StartGate)
            {
                var r = m.Start(id);
                Audit(ctx, audit, "rollout.start", id);
                return Results.Ok(m.View(r));
            }
        }).Produces<RolloutView>().ProducesProblem(400).ProducesProblem(403).ProducesProblem(404).ProducesProblem(409);
        MapAction(rollouts, "pause", (m, id) => m.Pause(id));
        MapAction(rollouts, "resume", (m, id) => m.Resume(id));
        MapAction(rollouts, "abort", (m, id) => m.Abort(id));
        rollouts.MapGet("/{id}/events", RolloutEvents.StreamAsync).Produces<RolloutView>(200, "text/event-stream")
            .ProducesProblem(404).ProducesProblem(429).WithDescription(RolloutEvents.Description);
        app.MapAdminApi(api);
    }

    private static void MapAction(RouteGroupBuilder rollouts, string action, Func<RolloutManager, string, Rollout> act) =>
        rollouts.MapPost("/{id}/" + action, (string id, RolloutManager m, RolloutOutcomes o, HttpContext ctx, IAuditLog audit) =>
        {
            var r = act(m, id);
            Audit(ctx, audit, "rollout." + action, id);
            return Results.Ok(o.Present(m.View(r)));
        }).Produces<RolloutView>().ProducesProblem(403).ProducesProblem(404).ProducesProblem(409);

    /// <summary>Starts a just-created rollout; when it cannot start, it is aborted at once with the reason (no
    /// orphaned "created" rollout stays behind) and the problem goes to the caller.</summary>
    private static void StartOrAbort(RolloutManager m, Rollout r, HttpContext ctx, IAuditLog audit)
    {
        try
        {
            m.Start(r.Id);
            Audit(ctx, audit, "rollout.start", r.Id);
        }
        catch (ApiProblem p)
        {
            m.Abort(r.Id);
            Audit(ctx, audit, "rollout.abort", r.Id, $"could not start: {p.Message}");
            throw new ApiProblem(p.Status, p.Title, $"{p.Message} (rollout {r.Id} was created and aborted at once)");
        }
    }

    public static void Audit(HttpContext ctx, IAuditLog audit, string action, string? target, string? detail = null) =>
        audit.Record(ctx.User.Identity?.Name ?? "anonymous", action, target, detail, LoginThrottle.ClientOf(ctx));

    private static async Task<IResult> Login(LoginRequest req, HttpContext ctx, AdminCredentials creds, LoginThrottle throttle, SessionStore sessions,
        IAuditLog audit, ILoggerFactory logs)
    {
        string client = LoginThrottle.ClientOf(ctx);
        if (throttle.LockedFor(client) is { } left)
        {
            ctx.Response.Headers.RetryAfter = Math.Ceiling(left.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
            return Results.Problem($"too many failed logins from {client}; try again in {Math.Ceiling(left.TotalSeconds)} s", statusCode: 429, title: "Locked out");
        }
        if (!creds.Matches(req.User, req.Password))
        {
            bool locked = throttle.Failed(client);
            logs.CreateLogger("IotOta.Login").LogWarning("failed login for user {User} from {Client}{Locked}", req.User, client, locked ? "; address locked out" : "");
            audit.Record(req.User ?? "?", locked ? "login.lockout" : "login.failed", null, "console login", client);
            await Task.Delay(throttle.Options.FailureDelay, ctx.RequestAborted);
            return Results.Problem("wrong user or password", statusCode: 401, title: "Login failed");
        }
        throttle.Succeeded(client);
        var session = sessions.Create(req.User!);
        var id = new ClaimsIdentity([new Claim(ClaimTypes.Name, req.User!), new Claim(SessionStore.ClaimType, session.Id)], CookieAuthenticationDefaults.AuthenticationScheme);
        await ctx.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, new ClaimsPrincipal(id));
        audit.Record(req.User!, "login", null, null, client);
        return Results.Ok(new UserView(req.User));
    }

    private static async Task<IResult> Upload(HttpRequest req, RolloutManager m, IAuditLog audit)
    {
        if (!req.HasFormContentType) throw new ApiProblem(400, "Not a form", "upload the image as multipart/form-data with fields file, version and board");
        IFormCollection form;
        try
        {
            form = await req.ReadFormAsync();
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            throw new ApiProblem(400, "Malformed form", $"the multipart body cannot be read: {e.Message}");
        }
        var file = form.Files.GetFile("file") ?? form.Files.FirstOrDefault();
        if (file == null) throw new ApiProblem(400, "Missing file", "the form field 'file' is required");
        if (file.Length > m.Options.MaxImageBytes)
            throw new ApiProblem(413, "Image too large", $"the image has {file.Length} bytes; the limit is {m.Options.MaxImageBytes} bytes");
        using var ms = new MemoryStream((int)file.Length);
        await file.CopyToAsync(ms);
        var stored = m.AddImage(ms.ToArray(), form["version"], form["board"], Path.GetFileName(file.FileName));
        Audit(req.HttpContext, audit, "image.upload", stored.Id, $"version {stored.Version}, board {stored.Board}, {stored.Size} bytes, sha-256 {stored.Sha256}");
        return Results.Created($"/api/images/{stored.Id}", stored);
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
}
