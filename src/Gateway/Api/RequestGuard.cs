using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication.Cookies;

namespace IotOta.Gateway.Api;

/// <summary>
/// No forged request changes anything. Every state-changing request (any method but GET, HEAD, OPTIONS, TRACE):
/// <list type="bullet">
/// <item>is refused when the browser says it comes from elsewhere: an <c>Origin</c> header other than this server's
/// own origin, or <c>Sec-Fetch-Site</c> other than <c>same-origin</c> / <c>none</c> (a page on another port of the same
/// host is "same-site" and is refused too);</item>
/// <item>made with the console's session cookie must carry the antiforgery token (header <see cref="HeaderName"/>,
/// from GET /api/antiforgery), which a foreign page cannot read. Login and logout need only the origin check.</item>
/// </list>
/// Requests with HTTP basic credentials (the CLI) send neither header and need no token.
/// </summary>
public static class RequestGuard
{
    public const string HeaderName = "X-CSRF-TOKEN";
    public const string CookieName = "iotota.csrf";

    public static void AddIotOtaAntiforgery(this IServiceCollection services) => services.AddAntiforgery(o =>
    {
        o.HeaderName = HeaderName;
        o.Cookie.Name = CookieName;
        o.Cookie.SameSite = SameSiteMode.Strict;
        o.Cookie.HttpOnly = true;
        // RequestGuard's own headers (SecurityHeaders) say DENY for every response.
        o.SuppressXFrameOptionsHeader = true;
    });

    public static bool IsStateChanging(string method) => !(HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method) || HttpMethods.IsTrace(method));

    /// <summary>Why the request is refused as cross-origin, or null.</summary>
    public static string? CrossOrigin(HttpRequest req)
    {
        string self = $"{req.Scheme}://{req.Host}";
        string? origin = req.Headers.Origin;
        if (origin != null && !string.Equals(origin, self, StringComparison.OrdinalIgnoreCase))
            return $"a request from origin '{origin}' cannot change anything here (only {self} can)";
        string? site = req.Headers["Sec-Fetch-Site"];
        if (site != null && site is not ("same-origin" or "none"))
            return $"a {site} request (Sec-Fetch-Site) cannot change anything here";
        return null;
    }

    public static void UseIotOtaRequestGuard(this WebApplication app) => app.Use(async (ctx, next) =>
    {
        if (!IsStateChanging(ctx.Request.Method))
        {
            await next(ctx);
            return;
        }
        var audit = ctx.RequestServices.GetRequiredService<IAuditLog>();
        if (CrossOrigin(ctx.Request) is { } why)
        {
            audit.Record(ctx.User.Identity?.Name ?? "anonymous", "request.refused", $"{ctx.Request.Method} {ctx.Request.Path}", why, LoginThrottle.ClientOf(ctx));
            await Results.Problem(why, statusCode: 403, title: "Cross-origin request refused").ExecuteAsync(ctx);
            return;
        }
        string path = ctx.Request.Path.Value ?? "";
        bool cookie = ctx.User.Identity is { IsAuthenticated: true, AuthenticationType: CookieAuthenticationDefaults.AuthenticationScheme };
        if (cookie && path is not ("/api/login" or "/api/logout"))
        {
            try
            {
                await ctx.RequestServices.GetRequiredService<IAntiforgery>().ValidateRequestAsync(ctx);
            }
            catch (AntiforgeryValidationException e)
            {
                audit.Record(ctx.User.Identity?.Name ?? "anonymous", "request.refused", $"{ctx.Request.Method} {path}", "antiforgery token missing or wrong", LoginThrottle.ClientOf(ctx));
                await Results.Problem($"the request lacks a valid antiforgery token (header {HeaderName} from GET /api/antiforgery): {e.Message}",
                    statusCode: 403, title: "Antiforgery token refused").ExecuteAsync(ctx);
                return;
            }
        }
        await next(ctx);
    });
}
