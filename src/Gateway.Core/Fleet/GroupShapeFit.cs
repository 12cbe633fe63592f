using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Fleet;

/// <summary>
/// Whether the groups of a rollout fit what their devices announced (issue #14 item 8), checked before anything is
/// sent: every member of a group must be able to name the whole group in its member list (the presence's maxMembers,
/// and never more than a member list carries: <see cref="MemberListUpdate.MaxMembers"/>), and every device needs a
/// socket budget of at least <see cref="MinPeerConnections"/> peer connections (one in from its parent in the copy
/// tree, one out to a child; 0 = no limit). A group's size is the number of its online devices in the set given: the
/// gateway's member list names every online device of the group. Devices that announced no peer budget (an older
/// presence) are judged only by the wire's limit. Pure.
/// </summary>
public static class GroupShapeFit
{
    /// <summary>The fewest peer connections a device needs to take part.</summary>
    public const int MinPeerConnections = 2;

    /// <summary>Groups named one by one in a refusal; the rest are counted.</summary>
    private const int GroupsNamed = 3;

    /// <summary>Null when every group fits; otherwise one sentence naming, per group (at most 3), the devices (at most 8
    /// ids) and the limit they announced, and the devices whose socket budget is too small.</summary>
    public static string? Problem(IEnumerable<DeviceRecord> devices)
    {
        ArgumentNullException.ThrowIfNull(devices);
        var online = devices.Where(d => d.Online).ToList();
        var parts = new List<string>();
        var tooLarge = online.GroupBy(d => d.GroupId).OrderBy(g => g.Key)
            .Select(g => (Group: g.Key, Size: g.Count(), Members: g))
            .Select(g => (g.Group, g.Size, Short: g.Members.Where(d => g.Size > NamesAtMost(d)).ToList()))
            .Where(g => g.Short.Count > 0).ToList();
        foreach (var g in tooLarge.Take(GroupsNamed))
        {
            int limit = g.Short.Min(NamesAtMost);
            string who = g.Short.Count == g.Size && g.Short.All(d => d.Capabilities?.MaxMembers == null)
                ? "a member list names"
                : $"{DeviceIdList.Describe(g.Short.Select(d => d.NodeId))} can name";
            parts.Add($"group {g.Group} has {g.Size} members but {who} at most {limit} members in a member list: split the group");
        }
        if (tooLarge.Count > GroupsNamed) parts.Add(tooLarge.Count - GroupsNamed == 1 ? "and 1 more group is too large" : $"and {tooLarge.Count - GroupsNamed} more groups are too large");
        var noSockets = online.Where(d => d.Capabilities?.MaxPeerConnections is { } peers && peers != 0 && peers < MinPeerConnections).ToList();
        if (noSockets.Count > 0)
        {
            parts.Add($"{DeviceIdList.Describe(noSockets.Select(d => d.NodeId))} may hold {noSockets.Min(d => d.Capabilities!.MaxPeerConnections)} peer connection(s); " +
                $"taking part needs at least {MinPeerConnections} (one in from its parent, one out to a child)");
        }
        return parts.Count == 0 ? null : string.Join("; ", parts);
    }

    /// <summary>The most members device d's list can name: what it announced, never more than a list carries.</summary>
    private static int NamesAtMost(DeviceRecord d) =>
        Math.Min(d.Capabilities?.MaxMembers ?? MemberListUpdate.MaxMembers, MemberListUpdate.MaxMembers);
}
