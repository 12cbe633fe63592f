using IotOta.Gateway.Fleet;
using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Scheduling;

/// <summary>
/// One table per device instead of one per group, for the groups below level 1 of a relay tree. There the gateway
/// does not choose who relays: the device of the group that gets packet k is candidate k mod n of the group's list
/// (<see cref="RelayTree.CandidateIndex"/>), so candidate j relays only the packets k with k mod T = tree and k mod n =
/// j, and needs, for each child group, only the candidates those packets go to. Its table keeps the layout and the
/// lookup (candidate k mod count): each child's list is cut to the shortest length L whose slot k mod L names, for every
/// packet the device relays, the candidate the full list names (a single entry when the groups are as large as each
/// other). A group's retained table goes to every member through the broker's uplink: at N = 1,000 in 63 groups, 45
/// tables of ~670 B reached 16 members each (480 KB, 1.8 × the image). Level-1 groups keep the group's table: the
/// gateway picks their relay per packet among all members, so any member may relay any packet of its tree.
/// </summary>
public static class RelayTableSplit
{
    /// <summary>The tables of the members of <paramref name="full"/>'s group (its candidates, in list order) that relay
    /// at least one of the rollout's <paramref name="chunkCount"/> packets; members that relay none get none.</summary>
    public static IEnumerable<(uint Node, RelayTree Table)> ForDevices(RelayTree full, IReadOnlyList<FleetMember> candidates, int chunkCount)
    {
        int n = candidates.Count;
        for (int j = 0; j < n; j++)
        {
            var packets = new List<int>();
            for (int k = full.Tree; k < chunkCount; k += full.TreeCount)
            {
                if (RelayTree.CandidateIndex(k, n) == j) packets.Add(k);
            }
            if (packets.Count == 0) continue;
            var table = new RelayTree
            {
                ImageId = full.ImageId, GroupId = full.GroupId, Epoch = full.Epoch, TreeCount = full.TreeCount, Tree = full.Tree,
                ChildCount = full.ChildCount,
            };
            for (int c = 0; c < full.ChildCount; c++)
            {
                table.ChildGroup[c] = full.ChildGroup[c];
                int count = full.CandidateCount[c];
                int length = Shortest(packets, count);
                table.CandidateCount[c] = length;
                for (int r = 0; r < length; r++)
                {
                    // The slot's candidate: the one the full list names for a packet in this slot (any, when none is).
                    int k = packets.FirstOrDefault(p => p % length == r, r);
                    int from = c * RelayTree.MaxCandidates + RelayTree.CandidateIndex(k, count);
                    int to = c * RelayTree.MaxCandidates + r;
                    table.CandidateNode[to] = full.CandidateNode[from];
                    table.CandidateIp[to] = full.CandidateIp[from];
                    table.CandidatePort[to] = full.CandidatePort[from];
                }
            }
            yield return (candidates[j].NodeId, table);
        }
    }

    /// <summary>The least L (1 .. count) such that packets in the same slot mod L name the same candidate mod count.</summary>
    private static int Shortest(List<int> packets, int count)
    {
        for (int length = 1; length < count; length++)
        {
            var slot = new Dictionary<int, int>();
            bool fits = true;
            foreach (int k in packets)
            {
                int want = RelayTree.CandidateIndex(k, count);
                if (slot.TryGetValue(k % length, out int have) && have != want)
                {
                    fits = false;
                    break;
                }
                slot[k % length] = want;
            }
            if (fits) return length;
        }
        return count;
    }
}
