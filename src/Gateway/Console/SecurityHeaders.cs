namespace IotOta.Gateway.WebConsole;

/// <summary>Headers on every answer (console pages and API alike): a Content-Security-Policy that lets the console load
/// only its own scripts and styles and talk only to its own origin, framing refused (frame-ancestors 'none' and
/// X-Frame-Options DENY), no content-type sniffing, no referrer.</summary>
public static class SecurityHeaders
{
    /// <summary>Inline style attributes are allowed (the console sets bar widths with them); inline scripts are not.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; " +
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'";

    public static void UseIotOtaSecurityHeaders(this WebApplication app) => app.Use((ctx, next) =>
    {
        ctx.Response.OnStarting(() =>
        {
            var h = ctx.Response.Headers;
            h.ContentSecurityPolicy = ContentSecurityPolicy;
            h.XFrameOptions = "DENY";
            h.XContentTypeOptions = "nosniff";
            h["Referrer-Policy"] = "no-referrer";
            h["Cross-Origin-Opener-Policy"] = "same-origin";
            return Task.CompletedTask;
        });
        return next(ctx);
    });
}
