using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.Options;

namespace IotOta.Gateway.Api;

/// <summary>The operator's credentials (configuration IotOta:Admin:User and IotOta:Admin:Password). Never logged.</summary>
public sealed record AdminCredentials(string User, string Password)
{
    /// <summary>A configured password shorter than this is refused at start.</summary>
    public const int MinPasswordLength = 12;

    public override string ToString() => $"AdminCredentials {{ User = {User}, Password = *** }}";

    public bool Matches(string? user, string? password)
    {
        static byte[] H(string? s) => SHA256.HashData(Encoding.UTF8.GetBytes(s ?? ""));
        // Compare fixed-length hashes in constant time; both must match.
        bool u = CryptographicOperations.FixedTimeEquals(H(user), H(User));
        bool p = CryptographicOperations.FixedTimeEquals(H(password), H(Password));
        return u & p;
    }
}

/// <summary>HTTP basic authentication against <see cref="AdminCredentials"/> (the CLI's way in).</summary>
public sealed class BasicAuthHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder,
    AdminCredentials credentials, LoginThrottle throttle, IAuditLog audit) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Basic";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        if (header == null || !header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase)) return Task.FromResult(AuthenticateResult.NoResult());
        string decoded;
        try
        {
            decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header["Basic ".Length..].Trim()));
        }
        catch (FormatException)
        {
            return Task.FromResult(AuthenticateResult.Fail("malformed basic credentials"));
        }
        int colon = decoded.IndexOf(':');
        string client = LoginThrottle.ClientOf(Context);
        if (throttle.LockedFor(client) is { } left)
        {
            Context.Items[ApiErrors.LockoutItem] = left;
            return Task.FromResult(AuthenticateResult.Fail("locked out after too many failed logins"));
        }
        if (colon < 0 || !credentials.Matches(decoded[..colon], decoded[(colon + 1)..]))
        {
            string who = colon < 0 ? "?" : decoded[..colon];
            bool locked = throttle.Failed(client);
            Logger.LogWarning("failed basic login for user {User} from {Client}{Locked}", who, client, locked ? "; address locked out" : "");
            audit.Record(who, locked ? "login.lockout" : "login.failed", null, "basic credentials", client);
            return Task.FromResult(AuthenticateResult.Fail("wrong user or password"));
        }
        throttle.Succeeded(client);
        var id = new ClaimsIdentity([new Claim(ClaimTypes.Name, decoded[..colon])], SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(id), SchemeName)));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = 401;
        // No WWW-Authenticate: Basic here, or browsers would pop their own dialog over the console's login form.
        if (Request.Headers.Authorization.Count > 0) Response.Headers.WWWAuthenticate = "Basic realm=\"iotota\"";
        return Task.CompletedTask;
    }
}

public static class AuthSetup
{
    public const string Policy = "cookie-or-basic";

    public static void AddIotOtaAuth(this IServiceCollection services, AdminCredentials credentials, LoginThrottleOptions? throttle = null)
    {
        services.AddSingleton(credentials);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(sp => new LoginThrottle(throttle ?? new LoginThrottleOptions(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<SessionStore>();
        services.AddAuthentication(Policy)
            .AddPolicyScheme(Policy, "cookie or basic", o => o.ForwardDefaultSelector = ctx =>
                ctx.Request.Headers.Authorization.ToString().StartsWith("Basic ", StringComparison.OrdinalIgnoreCase) ? BasicAuthHandler.SchemeName : CookieAuthenticationDefaults.AuthenticationScheme)
            .AddCookie(CookieAuthenticationDefaults.AuthenticationScheme, o =>
            {
                o.Cookie.Name = "iotota.auth";
                o.Cookie.HttpOnly = true;
                o.Cookie.SameSite = SameSiteMode.Strict;
                o.SlidingExpiration = true;
                o.ExpireTimeSpan = TimeSpan.FromHours(8);
                // An API: answer 401/403, never redirect to a login page.
                o.Events.OnRedirectToLogin = ctx => { ctx.Response.StatusCode = 401; return Task.CompletedTask; };
                o.Events.OnRedirectToAccessDenied = ctx => { ctx.Response.StatusCode = 403; return Task.CompletedTask; };
                // Server-side sessions: a cookie whose session was revoked (logout) no longer authenticates.
                o.Events.OnValidatePrincipal = async ctx =>
                {
                    var sessions = ctx.HttpContext.RequestServices.GetRequiredService<SessionStore>();
                    if (sessions.Get(ctx.Principal?.FindFirst(SessionStore.ClaimType)?.Value) == null)
                    {
                        ctx.RejectPrincipal();
                        await ctx.HttpContext.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
                    }
                };
            })
            .AddScheme<AuthenticationSchemeOptions, BasicAuthHandler>(BasicAuthHandler.SchemeName, null);
        services.AddAuthorization();
    }
}
