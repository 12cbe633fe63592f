using System.Globalization;

namespace IotOta.Bench;

/// <summary>
/// The whole machine's CPU use between two readings of /proc/stat (every process, other engineers' builds included),
/// so a run that shared the cores is visible next to the benchmark's own CPU time.
/// </summary>
public readonly record struct HostCpu(long BusyTicks, long TotalTicks)
{
    /// <summary>Now, or (0, 0) where /proc/stat cannot be read.</summary>
    public static HostCpu Read()
    {
        try
        {
            string line = File.ReadLines("/proc/stat").First();
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(x => long.Parse(x, CultureInfo.InvariantCulture)).ToArray();
            long idle = f[3] + (f.Length > 4 ? f[4] : 0); // idle + iowait
            long total = f.Take(Math.Min(8, f.Length)).Sum(); // user nice system idle iowait irq softirq steal
            return new HostCpu(total - idle, total);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException or InvalidOperationException)
        {
            return default;
        }
    }

    /// <summary>Busy share of all cores between <paramref name="earlier"/> and this reading, in percent (0..100).</summary>
    public double BusyPercentSince(HostCpu earlier)
    {
        long total = TotalTicks - earlier.TotalTicks;
        return total <= 0 ? 0 : Math.Round(100.0 * (BusyTicks - earlier.BusyTicks) / total, 1);
    }
}
