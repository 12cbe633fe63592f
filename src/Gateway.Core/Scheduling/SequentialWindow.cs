namespace IotOta.Gateway.Scheduling;

/// <summary>
/// In-order pacing for groups with sequential-only devices. A sequential sink (nanoFramework In-Field-Update) takes
/// packets in order only and stages the ones that arrive early in a small flash area; a packet that finds staging
/// full is dropped and must be repaired. So for a group whose devices stage, packets go out only within a window
/// above the group's lowest undelivered packet: window = a quarter of the smallest staging capacity in the group (at
/// least 1). A quarter, not half: a receipt notice comes back when the copies are handed to the sockets, before every
/// member wrote them, so a member's staging holds the window plus that lag (measured: window 16 of 64 → high-water 24;
/// window 8 → 9–11). Groups without sequential devices have no window. A delivery is final (the group's minimum unit sent its
/// receipt notice). Pure logic, no clock; not thread-safe (the scheduler calls it under its lock).
/// </summary>
public sealed class SequentialWindow
{
    private readonly int _chunkCount;
    private readonly Dictionary<int, GroupState> _groups = new();

    private sealed class GroupState(int chunks)
    {
        public readonly bool[] Delivered = new bool[chunks];
        public int Lowest;
        public int Window;
    }

    public SequentialWindow(int chunkCount)
    {
        if (chunkCount <= 0) throw new ArgumentOutOfRangeException(nameof(chunkCount));
        _chunkCount = chunkCount;
    }

    /// <summary>The window for a group whose smallest staging area holds capacity packets: a quarter of it, at least 1;
    /// 0 (no window) when no device of the group stages.</summary>
    public static int WindowFor(int smallestStagingCapacity) => smallestStagingCapacity <= 0 ? 0 : Math.Max(1, smallestStagingCapacity / 4);

    /// <summary>Sets (or clears, with 0) the group's window from the smallest staging capacity among its sequential
    /// devices.</summary>
    public void SetGroup(int groupId, int smallestStagingCapacity) => State(groupId).Window = WindowFor(smallestStagingCapacity);

    /// <summary>The group's window in packets; 0 = unbounded.</summary>
    public int WindowOf(int groupId) => _groups.TryGetValue(groupId, out var g) ? g.Window : 0;

    /// <summary>The group's lowest packet not yet delivered (chunkCount when all are).</summary>
    public int LowestUndelivered(int groupId) => _groups.TryGetValue(groupId, out var g) ? g.Lowest : 0;

    /// <summary>Packet index reached the group (its minimum unit's notice came back).</summary>
    public void OnDelivered(int groupId, int index)
    {
        if (index < 0 || index >= _chunkCount) throw new ArgumentOutOfRangeException(nameof(index));
        GroupState g = State(groupId);
        g.Delivered[index] = true;
        while (g.Lowest < _chunkCount && g.Delivered[g.Lowest]) g.Lowest++;
    }

    /// <summary>True when packet index may go out to the group now.</summary>
    public bool Allows(int groupId, int index)
    {
        if (!_groups.TryGetValue(groupId, out var g) || g.Window == 0) return true;
        return index < g.Lowest + g.Window;
    }

    /// <summary>True when packet index lies within every windowed group's window. A group that already holds or is
    /// being sent the packet passes too: it was inside the window when it went out and the window only moves up. Costs
    /// one comparison per group that has a window, none for fleets without sequential devices.</summary>
    public bool AllowsEveryGroup(int index)
    {
        foreach (GroupState g in _groups.Values)
        {
            if (g.Window != 0 && index >= g.Lowest + g.Window) return false;
        }
        return true;
    }

    private GroupState State(int groupId)
    {
        if (!_groups.TryGetValue(groupId, out var g)) _groups[groupId] = g = new GroupState(_chunkCount);
        return g;
    }
}
