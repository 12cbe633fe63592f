namespace IotOta.Gateway.Fleet;

/// <summary>
/// Whether the groups of a rollout fit what their devices announced (issue #14 item 8), checked before anything is
/// sent: every member of a group must be able to name the whole group in its member list (the presence's maxMembers),
/// and every device needs a socket budget of at least <see cref="MinPeerConnections"/> peer connections (one in from
/// its parent in the copy tree, one out to a child; 0 = no limit). A group's size is the number of its devices in the
/// set given (the gateway's member list names every online device of the group). Devices that announced no peer
/// budget (an older presence) are not judged. Pure.
/// </summary>
public static class GroupShapeFit
{
    /// <summary>The fewest peer connections a device needs to take part.</summary>
    public const int MinPeerConnections = 2;

    /// <summary>Null when every group fits; otherwise one sentence naming the devices (at most 8 ids each) and the
    /// limits they announced.</summary>
    public static string? Problem(IEnumerable<DeviceRecord> members)
    {
        ArgumentNullException.ThrowIfNull(members);
        var all = members.ToList();
        var sizeOf = all.GroupBy(d => d.GroupId).ToDictionary(g => g.Key, g => g.Count());
        var parts = new List<string>();
        var tooSmall = all.Where(d => d.Capabilities?.MaxMembers is { } max && sizeOf[d.GroupId] > max).ToList();
        if (tooSmall.Count > 0)
        {
            var worst = tooSmall.OrderBy(d => d.Capabilities!.MaxMembers).ThenByDescending(d => sizeOf[d.GroupId]).First();
            parts.Add($"group {worst.GroupId} has {sizeOf[worst.GroupId]} members but {DeviceIdList.Describe(tooSmall.Select(d => d.NodeId))} " +
                $"can name at most {worst.Capabilities!.MaxMembers} members in a member list: split the group");
        }
        var noSockets = all.Where(d => d.Capabilities?.MaxPeerConnections is { } peers && peers != 0 && peers < MinPeerConnections).ToList();
        if (noSockets.Count > 0)
        {
            parts.Add($"{DeviceIdList.Describe(noSockets.Select(d => d.NodeId))} may hold {noSockets.Min(d => d.Capabilities!.MaxPeerConnections)} peer connection(s); " +
                $"taking part needs at least {MinPeerConnections} (one in from its parent, one out to a child)");
        }
        return parts.Count == 0 ? null : string.Join("; ", parts);
    }
}
