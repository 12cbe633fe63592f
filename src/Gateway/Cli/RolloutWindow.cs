using System.CommandLine;
using System.Globalization;

namespace IotOta.Gateway.Cli;

/// <summary>The rollout window on the command line: `--window 24h` (also s, m, d, or plain seconds).</summary>
public static class RolloutWindow
{
    public static readonly TimeSpan Default = TimeSpan.FromHours(24);
    public static readonly TimeSpan Max = TimeSpan.FromDays(30);

    public static Option<string?> Option() => new("--window")
    {
        Description = "how long the rollout waits for devices that are offline (pending) or join later: 90, 90s, 15m, 24h, 7d (default 24h)",
    };

    /// <summary>Seconds, or a number with s/m/h/d; 1 s to 30 days. Throws ArgumentException with a clear message.</summary>
    public static TimeSpan Parse(string text)
    {
        string t = text.Trim().ToLowerInvariant();
        double unit = 1;
        if (t.Length > 1 && char.IsLetter(t[^1]) && char.IsDigit(t[^2]))
        {
            unit = t[^1] switch
            {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86400,
                _ => throw new ArgumentException($"--window '{text}': the unit must be s, m, h or d"),
            };
            t = t[..^1];
        }
        if (!double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double n) || double.IsNaN(n))
            throw new ArgumentException($"--window '{text}' is not a duration (e.g. 90, 15m, 24h, 7d)");
        var w = TimeSpan.FromSeconds(n * unit);
        if (w < TimeSpan.FromSeconds(1) || w > Max) throw new ArgumentException($"--window '{text}' must be between 1 s and 30 days");
        return w;
    }

    public static string Format(TimeSpan w) =>
        w.TotalSeconds % 86400 == 0 && w.TotalDays > 1 ? $"{w.TotalDays:0}d" : w.TotalSeconds % 3600 == 0 ? $"{w.TotalHours:0}h"
        : w.TotalSeconds % 60 == 0 ? $"{w.TotalMinutes:0}m" : $"{w.TotalSeconds:0.###}s";
}
