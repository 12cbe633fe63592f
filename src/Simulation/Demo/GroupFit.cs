using IotOta.BoardProfiles;
using IotOta.Gateway.Fleet;
using IotOta.VirtualDevice.Host;

namespace IotOta.Simulation.Demo;

/// <summary>
/// Whether a fleet's shape fits its devices (issue #14 item 8), checked before anything starts: every member of a
/// group must be able to name the whole group in its member list (the board's maxMembers; 1,024 without a board), and
/// every device needs a socket budget of at least two peer connections (one in from its parent in the copy tree, one
/// out to a child). Null when it fits; otherwise one sentence naming the devices (at most 8 ids) and the limit.
/// Devices are node ids 1..N in round-robin groups, device i on board i mod boards.
/// </summary>
public static class GroupFit
{
    /// <summary>The fewest peer connections a device needs to take part.</summary>
    public const int MinPeerConnections = GroupShapeFit.MinPeerConnections;

    public static string? Problem(int devices, int groups, IReadOnlyList<BoardProfile> boards, int? peerConnections)
    {
        var parts = new List<string>();
        var tooSmall = new List<(uint Node, int Group, int Size, int Limit, string Board)>();
        var noSockets = new List<(uint Node, int Limit)>();
        for (int i = 0; i < devices; i++)
        {
            uint node = (uint)(i + 1);
            int group = VirtualFleet.GroupOf((int)node, groups);
            int size = devices / groups + (group - 1 < devices % groups ? 1 : 0);
            BoardProfile? board = boards.Count == 0 ? null : boards[i % boards.Count];
            int maxMembers = board?.MaxMembers ?? VirtualDeviceOptions.DefaultMaxMembers;
            if (size > maxMembers) tooSmall.Add((node, group, size, maxMembers, board?.Name ?? "virtual"));
            int budget = peerConnections ?? board?.MaxPeerConnections ?? VirtualDeviceOptions.DefaultMaxPeerConnections;
            if (budget != 0 && budget < MinPeerConnections) noSockets.Add((node, budget));
        }
        if (tooSmall.Count > 0)
        {
            var worst = tooSmall.OrderBy(t => t.Limit).First();
            parts.Add($"group {worst.Group} has {worst.Size} members but {Describe(tooSmall.Select(t => t.Node))} ({string.Join(", ", tooSmall.Select(t => t.Board).Distinct())}) " +
                $"can name at most {worst.Limit} members in a member list: use more, smaller groups (--groups)");
        }
        if (noSockets.Count > 0)
        {
            parts.Add($"{Describe(noSockets.Select(t => t.Node))} may hold {noSockets.Min(t => t.Limit)} peer connection(s); taking part needs at least " +
                $"{MinPeerConnections} (one in from its parent, one out to a child)");
        }
        return parts.Count == 0 ? null : "refused: " + string.Join("; ", parts);
    }

    /// <summary>The socket budget that bounds the fleet's open files: the largest any device has, 0 when one is
    /// unlimited (device i on board i mod boards, <paramref name="peerConnections"/> overriding the boards).</summary>
    public static int LargestBudget(IReadOnlyList<BoardProfile> boards, int? peerConnections)
    {
        if (peerConnections != null) return peerConnections.Value;
        if (boards.Count == 0) return VirtualDeviceOptions.DefaultMaxPeerConnections;
        return boards.Any(b => b.MaxPeerConnections == 0) ? 0 : boards.Max(b => b.MaxPeerConnections);
    }

    private static string Describe(IEnumerable<uint> nodes) => DeviceIdList.Describe(nodes);
}
