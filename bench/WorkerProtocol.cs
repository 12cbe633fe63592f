using System.Globalization;
using System.Text;

namespace IotOta.Bench;

/// <summary>What the bench needs of one device after a rollout (from the in-process fleet or a fleet worker); the peer
/// connection figures are the most connections it held at once and the ones it refused (its socket budget); the repair
/// figures are the repair requests it sent to peers and to the gateway and the packets it received already held.</summary>
public readonly record struct DeviceFigures(uint NodeId, long PeerPayloadBytes, long CoreAllocatedBytes, long CoreMessages, bool SlotVerified,
    int PeerConnectionsMax = 0, long PeerConnectionsRefused = 0, long PeerRepairRequests = 0, long GatewayRepairRequests = 0, long DuplicatePackets = 0);

/// <summary>
/// The line protocol between the bench and its fleet workers (a worker's stdin and stdout; UTF-8, one line per
/// message, fields separated by single spaces). The bench sends requests <c>ID COMMAND [ARGS]</c>; the worker answers
/// each with one line <c>ID ok [PAYLOAD]</c> or <c>ID error MESSAGE</c>, in any order (a restart takes its off time
/// while other requests are answered). Before any request the worker says <c>0 ok ready COUNT</c> once its devices are
/// started, or <c>0 error MESSAGE</c>. The worker exits when its stdin closes.
/// Commands: <c>members</c> → <c>FULL COUNT</c> (devices that know every member of their group / devices);
/// <c>restart LOCAL_INDEX OFF_MS</c> → <c>LOCAL_INDEX</c> once the device is back;
/// <c>threads</c> → CPU by thread name since the last <c>threads</c> (free text);
/// <c>report SHA256_HEX LENGTH</c> → <c>NODE,PEER_BYTES,CORE_ALLOC,CORE_MSGS,V,PEER_CONN_MAX,PEER_CONN_REFUSED,REPAIRS_TO_PEERS,REPAIRS_TO_GATEWAY,DUPLICATES;…</c>
/// (V = 1 when the device's active slot's first LENGTH bytes hash to SHA256_HEX); <c>quit</c> → nothing more, the worker exits.
/// </summary>
public static class WorkerProtocol
{
    public readonly record struct Request(long Id, string Command, string[] Args);
    public readonly record struct Reply(long Id, bool Ok, string Payload);

    public static string FormatRequest(long id, string command, params object[] args)
    {
        if (string.IsNullOrEmpty(command) || command.Contains(' ') || command.Contains('\n')) throw new ArgumentException("a command is one word", nameof(command));
        var sb = new StringBuilder();
        sb.Append(id.ToString(CultureInfo.InvariantCulture)).Append(' ').Append(command);
        foreach (object a in args)
        {
            string s = Convert.ToString(a, CultureInfo.InvariantCulture) ?? "";
            if (s.Length == 0 || s.Contains(' ') || s.Contains('\n')) throw new ArgumentException($"argument '{s}' is empty or has a space or newline", nameof(args));
            sb.Append(' ').Append(s);
        }
        return sb.ToString();
    }

    public static Request ParseRequest(string line)
    {
        string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (f.Length < 2 || !long.TryParse(f[0], NumberStyles.None, CultureInfo.InvariantCulture, out long id))
            throw new FormatException($"not a request: '{line}'");
        return new Request(id, f[1], f[2..]);
    }

    /// <summary>An error message on one line (newlines folded).</summary>
    public static string FormatReply(long id, bool ok, string payload = "")
    {
        string p = payload.Replace('\r', ' ').Replace('\n', ' ');
        return id.ToString(CultureInfo.InvariantCulture) + (ok ? " ok" : " error") + (p.Length > 0 ? " " + p : "");
    }

    public static Reply ParseReply(string line)
    {
        int a = line.IndexOf(' ');
        if (a <= 0 || !long.TryParse(line.AsSpan(0, a), NumberStyles.None, CultureInfo.InvariantCulture, out long id))
            throw new FormatException($"not a reply: '{line}'");
        int b = line.IndexOf(' ', a + 1);
        string status = b < 0 ? line[(a + 1)..] : line[(a + 1)..b];
        string payload = b < 0 ? "" : line[(b + 1)..];
        return status switch
        {
            "ok" => new Reply(id, true, payload),
            "error" => new Reply(id, false, payload),
            _ => throw new FormatException($"not a reply: '{line}'"),
        };
    }

    public static string FormatFigures(IEnumerable<DeviceFigures> figures) =>
        string.Join(';', figures.Select(f => string.Create(CultureInfo.InvariantCulture,
            $"{f.NodeId},{f.PeerPayloadBytes},{f.CoreAllocatedBytes},{f.CoreMessages},{(f.SlotVerified ? 1 : 0)},{f.PeerConnectionsMax},{f.PeerConnectionsRefused},{f.PeerRepairRequests},{f.GatewayRepairRequests},{f.DuplicatePackets}")));

    public static DeviceFigures[] ParseFigures(string payload)
    {
        if (payload.Length == 0) return [];
        return payload.Split(';').Select(d =>
        {
            string[] f = d.Split(',');
            if (f.Length != 10 || f[4] is not ("0" or "1")) throw new FormatException($"not a device's figures: '{d}'");
            return new DeviceFigures(uint.Parse(f[0], CultureInfo.InvariantCulture), long.Parse(f[1], CultureInfo.InvariantCulture),
                long.Parse(f[2], CultureInfo.InvariantCulture), long.Parse(f[3], CultureInfo.InvariantCulture), f[4] == "1",
                int.Parse(f[5], CultureInfo.InvariantCulture), long.Parse(f[6], CultureInfo.InvariantCulture),
                long.Parse(f[7], CultureInfo.InvariantCulture), long.Parse(f[8], CultureInfo.InvariantCulture), long.Parse(f[9], CultureInfo.InvariantCulture));
        }).ToArray();
    }
}

/// <summary>The devices a run holds, split over fleet workers: worker w holds global device indices
/// [First(w), First(w) + Count(w)), node ids index + 1; groups stay round-robin by node id, so every group spans the
/// workers (and so do its peer connections, which spreads the descriptors).</summary>
public sealed record FleetPlan(int Devices, int Groups, int Workers)
{
    public int First(int worker) => (int)((long)Devices * worker / Workers);
    public int Count(int worker) => First(worker + 1) - First(worker);

    /// <summary>The worker holding global device index <paramref name="index"/> and its index there.</summary>
    public (int Worker, int Local) Locate(int index)
    {
        if (index < 0 || index >= Devices) throw new ArgumentOutOfRangeException(nameof(index));
        for (int w = 0; w < Workers; w++)
            if (index < First(w + 1)) return (w, index - First(w));
        throw new InvalidOperationException("unreachable");
    }

    /// <summary>How many devices of the whole fleet (node ids 1..Devices) are in <paramref name="group"/>.</summary>
    public int GroupSize(int group) => Devices / Groups + (group - 1 < Devices % Groups ? 1 : 0);

    /// <summary>The figures of every worker merged into what a run reports: device upload min/median/max, the
    /// device core's allocations per message, and how many slots hold the image. Every device must be reported once.</summary>
    public static FleetFigures Aggregate(IEnumerable<DeviceFigures> all, int devices)
    {
        var list = all.ToList();
        int distinct = list.Select(f => f.NodeId).Distinct().Count();
        if (list.Count != devices || distinct != devices)
            throw new InvalidOperationException($"expected the figures of {devices} devices, got {list.Count} ({distinct} distinct)");
        var up = list.Select(f => f.PeerPayloadBytes).OrderBy(x => x).ToArray();
        long alloc = list.Sum(f => f.CoreAllocatedBytes), msgs = list.Sum(f => f.CoreMessages);
        return new FleetFigures(
            up.Length == 0 ? [0, 0, 0] : [up[0], up[up.Length / 2], up[^1]],
            msgs == 0 ? 0 : Math.Round((double)alloc / msgs, 2),
            list.Count(f => f.SlotVerified),
            list.Count == 0 ? 0 : list.Max(f => f.PeerConnectionsMax),
            list.Sum(f => f.PeerConnectionsRefused),
            list.Sum(f => f.PeerRepairRequests), list.Sum(f => f.GatewayRepairRequests), list.Sum(f => f.DuplicatePackets));
    }
}

public sealed record FleetFigures(long[] DeviceUploadBytes, double CoreAllocBytesPerMessage, int SlotsVerified, int PeerConnectionsMax = 0, long PeerConnectionsRefused = 0,
    long PeerRepairRequests = 0, long GatewayRepairRequests = 0, long DuplicatePackets = 0);
