using System.Globalization;
using System.Text.RegularExpressions;

namespace IotOta.Bench;

/// <summary>
/// CPU seconds of this process's live threads grouped by thread name (digits folded: "dev-12-pump" → "dev-#-pump"),
/// from /proc/self/task/*/stat: a profile without a profiler, to see which part of the virtual fleet costs what.
/// </summary>
public static class ThreadCpu
{
    public static Dictionary<string, double> ByName()
    {
        var result = new Dictionary<string, double>();
        if (!Directory.Exists("/proc/self/task")) return result;
        double hz = 100; // USER_HZ on Linux
        foreach (string dir in Directory.EnumerateDirectories("/proc/self/task"))
        {
            try
            {
                string name = File.ReadAllText(Path.Combine(dir, "comm")).Trim();
                string stat = File.ReadAllText(Path.Combine(dir, "stat"));
                string[] f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                double s = (long.Parse(f[11], CultureInfo.InvariantCulture) + long.Parse(f[12], CultureInfo.InvariantCulture)) / hz;
                string key = Regex.Replace(name, "[0-9]+", "#");
                result[key] = result.GetValueOrDefault(key) + s;
            }
            catch (Exception e) when (e is IOException or FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException)
            {
                // the thread ended meanwhile
            }
        }
        return result;
    }

    /// <summary>"name 1.2 s, …" for the groups that used the most, after subtracting an earlier reading.</summary>
    public static string Top(Dictionary<string, double> now, Dictionary<string, double> before, int count = 8) =>
        string.Join(", ", now.Select(kv => (kv.Key, S: kv.Value - before.GetValueOrDefault(kv.Key)))
            .Where(x => x.S > 0.005).OrderByDescending(x => x.S).Take(count)
            .Select(x => $"{x.Key} {x.S.ToString("0.00", CultureInfo.InvariantCulture)} s"));
}
