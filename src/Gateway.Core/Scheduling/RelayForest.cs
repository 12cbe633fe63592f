using IotOta.Gateway.Fleet;
using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Scheduling;

/// <summary>
/// The relay trees of a rollout with more groups than one original can name (1 + MaxTargets). The live groups, in
/// id order, are laid out in <see cref="TreeCount"/> rotations; in each, position p's children are positions
/// 4p+1 .. 4p+4 (a heap-shaped tree of fan-out <see cref="FanOut"/>, depth about log4 G). Tree t puts group index
/// (p + t·I) mod G at position p, where I = ⌈(G−1)/4⌉ is the number of positions that have children, and
/// T = min(8, ⌊G/I⌋): so every
/// group has children in at most one tree and the relay copies (one per group and packet on average) are spread over
/// the groups instead of weighing on a fixed few. Packet k travels down tree k mod T. The gateway names the root's
/// children (positions 1..4) in the original; positions 1..I−1 learn their children once per rollout from their
/// group's <see cref="RelayTree"/> table. Immutable; built by the scheduler.
/// </summary>
public sealed class RelayForest
{
    /// <summary>Children per position. Below MaxTargets (8) on purpose: a relay sends its relay copies one after
    /// another, so the last child of a position waits FanOut copies; fan-out f costs about f·log_f(G) copy times on
    /// the way down, which is less for 4 than for 8 (simulated: 1.60 vs 1.69 × bound at 100 000 devices).</summary>
    public const int FanOut = 4;
    private readonly int[] _groups;
    private readonly Dictionary<int, int> _indexOf;

    public RelayForest(IReadOnlyList<int> groupIds)
    {
        if (groupIds.Count <= 1 + DataPacket.MaxTargets) throw new ArgumentException($"relay trees are for more than {1 + DataPacket.MaxTargets} groups (one original names up to {DataPacket.MaxTargets})", nameof(groupIds));
        _groups = groupIds.OrderBy(g => g).ToArray();
        if (_groups.Distinct().Count() != _groups.Length) throw new ArgumentException("group ids must be distinct", nameof(groupIds));
        _indexOf = new Dictionary<int, int>(_groups.Length);
        for (int i = 0; i < _groups.Length; i++) _indexOf[_groups[i]] = i;
        InternalCount = (GroupCount - 1 + FanOut - 1) / FanOut;
        TreeCount = Math.Clamp(GroupCount / InternalCount, 1, RelayTree.MaxTrees);
    }

    public int GroupCount => _groups.Length;
    /// <summary>Positions that have children in every tree (0 .. InternalCount−1).</summary>
    public int InternalCount { get; }
    public int TreeCount { get; }
    public IReadOnlyList<int> GroupIds => _groups;

    public int TreeOf(int packetIndex) => packetIndex % TreeCount;
    public int GroupAt(int tree, int position) => _groups[(position + tree * InternalCount) % GroupCount];
    public int PositionOf(int tree, int groupId) => ((_indexOf[groupId] - tree * InternalCount) % GroupCount + GroupCount) % GroupCount;
    public static int FirstChild(int position) => FanOut * position + 1;
    public static int Parent(int position) => position == 0 ? -1 : (position - 1) / FanOut;
    public int ChildCount(int position) => Math.Clamp(GroupCount - FirstChild(position), 0, FanOut);

    /// <summary>True when the group has children at a position below the root in some tree (it gets a table that
    /// names them).</summary>
    public bool HasChildrenBelowLevel1(int groupId)
    {
        for (int t = 0; t < TreeCount; t++)
        {
            int p = PositionOf(t, groupId);
            if (p >= 1 && p < InternalCount) return true;
        }
        return false;
    }

    /// <summary>Levels below the root (the root's children are level 1).</summary>
    public int Depth
    {
        get
        {
            int depth = 0;
            for (int p = GroupCount - 1; p > 0; p = Parent(p)) depth++;
            return depth;
        }
    }

    /// <summary>The positions of the subtree under position p (p excluded), in tree order.</summary>
    public IEnumerable<int> SubtreeOf(int position)
    {
        for (int first = FirstChild(position), last = first + FanOut - 1; first < GroupCount; first = FirstChild(first), last = FirstChild(last) + FanOut - 1)
        {
            for (int q = first; q <= Math.Min(last, GroupCount - 1); q++) yield return q;
        }
    }

    /// <summary>One table per group that has children below level 1 (positions 1 .. InternalCount−1 of some tree),
    /// naming for each child group its relay candidates; and an empty one (no children, tree 0) for every other group:
    /// its devices then know they are leaves of every tree, and a relay copy that asks for silence
    /// (FlagSilentRelays) sends them no notice (RolloutScheduler.SilentRelays). Without a table a device cannot tell a
    /// leaf from a table still on its way, and notices.</summary>
    public IEnumerable<RelayTree> Tables(uint imageId, uint epoch, Func<int, IReadOnlyList<FleetMember>> candidatesOf)
    {
        for (int t = 0; t < TreeCount; t++)
        {
            for (int p = 1; p < InternalCount; p++)
            {
                var table = new RelayTree { ImageId = imageId, GroupId = GroupAt(t, p), Epoch = epoch, TreeCount = TreeCount, Tree = t };
                int first = FirstChild(p);
                for (int c = 0; c < ChildCount(p); c++)
                {
                    int child = GroupAt(t, first + c);
                    var cands = candidatesOf(child);
                    int n = Math.Min(cands.Count, RelayTree.MaxCandidates);
                    if (n == 0) throw new InvalidOperationException($"group {child} has no relay candidates");
                    table.ChildGroup[c] = child;
                    table.CandidateCount[c] = n;
                    for (int j = 0; j < n; j++)
                    {
                        int s = c * RelayTree.MaxCandidates + j;
                        table.CandidateNode[s] = cands[j].NodeId;
                        table.CandidateIp[s] = cands[j].Ip;
                        table.CandidatePort[s] = cands[j].Port;
                    }
                }
                table.ChildCount = ChildCount(p);
                yield return table;
            }
        }
        // last: the tables that name children are the ones relays wait for
        foreach (int g in _groups)
        {
            if (!HasChildrenBelowLevel1(g)) yield return new RelayTree { ImageId = imageId, GroupId = g, Epoch = epoch, TreeCount = TreeCount, Tree = 0 };
        }
    }
}
