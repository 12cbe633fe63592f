using System.Reflection;

namespace IotOta.Gateway.WebConsole;

/// <summary>The web console: plain HTML, CSS and JavaScript embedded in the gateway assembly (no build step), served
/// at / and /console/*. The page itself is public; everything it shows comes from the authenticated API.</summary>
public static class ConsoleAssets
{
    private static readonly Assembly Asm = typeof(ConsoleAssets).Assembly;

    public static void MapConsole(this WebApplication app)
    {
        app.MapGet("/", () => Asset("index.html")).ExcludeFromDescription();
        app.MapGet("/console/{name}", (string name) => Asset(name)).ExcludeFromDescription();
    }

    private static IResult Asset(string name)
    {
        if (name.Contains('/') || name.Contains('\\') || name.Contains("..")) return Results.NotFound();
        var stream = Asm.GetManifestResourceStream("console/" + name);
        if (stream == null) return Results.NotFound();
        string type = Path.GetExtension(name) switch
        {
            ".html" => "text/html; charset=utf-8",
            ".js" => "text/javascript; charset=utf-8",
            ".css" => "text/css; charset=utf-8",
            ".svg" => "image/svg+xml",
            _ => "application/octet-stream",
        };
        return Results.Stream(stream, type);
    }
}
