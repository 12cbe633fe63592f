using System.Runtime.InteropServices;

namespace IotOta.Simulation.Fleet;

/// <summary>
/// The process's open-file limit (RLIMIT_NOFILE). A real run holds, per device, a flash file, a peer listener and an
/// MQTT connection, and two descriptors for every peer connection in its group (both ends are in this process).
/// </summary>
public static class FileLimit
{
    private const int RlimitNofile = 7;

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Cur;
        public ulong Max;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int getrlimit(int resource, out RLimit limit);

    [DllImport("libc", SetLastError = true)]
    private static extern int setrlimit(int resource, ref RLimit limit);

    /// <summary>Descriptors a fleet of <paramref name="devices"/> in <paramref name="groups"/> round-robin groups needs:
    /// every device holds at most <paramref name="peerConnections"/> peer connections (its socket budget, in and out
    /// together; each end is one descriptor of the device that holds it) or, unlimited (0), a full mesh inside each
    /// group plus two cross-group relay links per device (as measured at N = 300 in 10 groups); plus a margin for the
    /// runtime, the gateway and the broker link.</summary>
    public static long Needed(int devices, int groups, int peerConnections = VirtualDevice.Host.VirtualDeviceOptions.DefaultMaxPeerConnections)
    {
        if (peerConnections > 0) return 5L * devices + (long)devices * peerConnections + 512;
        long mesh = 0;
        for (int g = 0; g < groups; g++)
        {
            long n = devices / groups + (g < devices % groups ? 1 : 0);
            mesh += n * (n - 1);
        }
        long relays = groups > 1 ? 2L * devices * Math.Min(groups - 1, 2) : 0;
        return 5L * devices + 2 * mesh + relays + 512; // 2 more per device: the broker uplink relay's two sockets
    }

    /// <summary>Descriptors of the bench process itself when the fleet runs in workers: the broker uplink relay's two
    /// sockets per device, the gateway, the broker link and the runtime.</summary>
    public static long ParentNeeded(int devices) => 2L * devices + 512;

    /// <summary>Descriptors of one of <paramref name="workers"/> fleet workers: its share of the fleet's flash files,
    /// peer listeners, MQTT connections and peer connection ends (groups span the workers, so a peer connection's two
    /// ends are spread like the devices), plus the runtime.</summary>
    public static long WorkerNeeded(int devices, int groups, int workers, int peerConnections = VirtualDevice.Host.VirtualDeviceOptions.DefaultMaxPeerConnections) =>
        (Needed(devices, groups, peerConnections) - 512 - 2L * devices + workers - 1) / workers + 512;

    /// <summary>How many fleet worker processes a run needs under <paramref name="limit"/> open files per process:
    /// 1 (the fleet in the bench process, as before) while the whole run needs at most three quarters of the limit
    /// (the estimate is rough: a run at 167 groups of 6 died at 17,800 of 20,000), else the fewest workers that each
    /// need at most half of it. A limit below 0 (unknown) keeps one process. Throws when even 64 workers are not enough.</summary>
    public static int ChooseWorkers(int devices, int groups, long limit, int peerConnections = VirtualDevice.Host.VirtualDeviceOptions.DefaultMaxPeerConnections)
    {
        if (limit < 0 || Needed(devices, groups, peerConnections) <= limit * 3 / 4) return 1;
        if (ParentNeeded(devices) > limit * 3 / 4)
            throw new InvalidOperationException($"{devices} devices need about {ParentNeeded(devices)} open files in the bench process alone (the broker uplink relay); the limit is {limit}");
        for (int k = 2; k <= 64; k++)
            if (WorkerNeeded(devices, groups, k, peerConnections) <= limit / 2) return k;
        throw new InvalidOperationException($"{devices} devices in {groups} groups need about {Needed(devices, groups, peerConnections)} open files, more than 64 fleet workers can hold under a limit of {limit} each; use more, smaller groups (--groups)");
    }

    /// <summary>The current soft limit, or -1 where it cannot be read (not Linux).</summary>
    public static long Current()
    {
        if (!OperatingSystem.IsLinux()) return -1;
        return getrlimit(RlimitNofile, out RLimit l) == 0 ? (long)Math.Min(l.Cur, long.MaxValue) : -1;
    }

    /// <summary>Raises the soft (and, for root, the hard) limit to at least <paramref name="wanted"/>. Returns the limit
    /// now in force; it stays below <paramref name="wanted"/> when the hard limit is lower and the process may not
    /// raise it.</summary>
    public static long EnsureAtLeast(long wanted)
    {
        if (!OperatingSystem.IsLinux() || getrlimit(RlimitNofile, out RLimit l) != 0) return -1;
        if ((long)l.Cur >= wanted) return (long)l.Cur;
        var raised = new RLimit { Cur = (ulong)wanted, Max = Math.Max(l.Max, (ulong)wanted) };
        if (setrlimit(RlimitNofile, ref raised) != 0)
        {
            raised = new RLimit { Cur = l.Max, Max = l.Max };
            setrlimit(RlimitNofile, ref raised);
        }
        return Current();
    }

    /// <summary>Null when a fleet of <paramref name="devices"/> in <paramref name="groups"/> groups, each device holding
    /// at most <paramref name="peerConnections"/> peer connections (0 = unlimited: a full mesh inside each group), can
    /// run in this process, after raising the open-file limit as far as it may go; else why not
    /// (<see cref="WhyNotFits(int, int, long, int)"/>).</summary>
    public static string? WhyNotFitsThisProcess(int devices, int groups, int peerConnections) =>
        WhyNotFits(devices, groups, EnsureAtLeast(Needed(devices, groups, peerConnections)), peerConnections);

    /// <summary>Null when the fleet fits under <paramref name="limit"/> open files (or the limit is unknown, below 0), else
    /// why not: the shape, the descriptors it needs, the limit and what to change. With a socket budget the need grows
    /// with the number of devices (K ends per device); without one (0) every member of a group keeps a TCP connection to
    /// every other member, so it grows with the square of the group size.</summary>
    public static string? WhyNotFits(int devices, int groups, long limit, int peerConnections = VirtualDevice.Host.VirtualDeviceOptions.DefaultMaxPeerConnections)
    {
        long need = Needed(devices, groups, peerConnections);
        if (limit < 0 || need <= limit) return null;
        long largest = (devices + groups - 1) / groups;
        string why = peerConnections > 0
            ? $"every device holds up to {peerConnections} peer connections, both ends in this process"
            : "every member of a group keeps a peer connection to every other member, both ends in this process";
        string fix = peerConnections > 0
            ? "use fewer devices or a smaller socket budget (--peer-connections)"
            : "use more, smaller groups (--groups), a socket budget (--peer-connections) or fewer devices";
        return $"{devices} devices in {groups} groups (up to {largest} per group) need about {need} open files in this process " +
               $"({why}), but it may open {limit}: {fix}";
    }
}
