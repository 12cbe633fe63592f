using IotOta.Gateway.Fleet;
using IotOta.Gateway.Scheduling;
using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Core.Tests.Scheduling;

public class RelayTableSplitTests
{
    private static List<FleetMember> Members(int group, int n) =>
        Enumerable.Range(0, n).Select(i => new FleetMember((uint)(100 * group + i), group, 0x0A000000u + (uint)i, 6000 + i)).ToList();

    private static RelayTree Full(int tree, int trees, params List<FleetMember>[] children)
    {
        var t = new RelayTree { ImageId = 5, GroupId = 1, Epoch = 3, TreeCount = trees, Tree = tree, ChildCount = children.Length };
        for (int c = 0; c < children.Length; c++)
        {
            t.ChildGroup[c] = children[c][0].GroupId;
            t.CandidateCount[c] = children[c].Count;
            for (int j = 0; j < children[c].Count; j++)
            {
                int s = c * RelayTree.MaxCandidates + j;
                t.CandidateNode[s] = children[c][j].NodeId;
                t.CandidateIp[s] = children[c][j].Ip;
                t.CandidatePort[s] = children[c][j].Port;
            }
        }
        return t;
    }

    [Fact]
    public void With_groups_as_large_as_each_other_each_device_names_one_candidate_per_child()
    {
        var own = Members(1, 16);
        var full = Full(1, 3, Members(2, 16), Members(3, 16), Members(4, 16), Members(5, 16));
        var split = RelayTableSplit.ForDevices(full, own, 64).ToList();
        Assert.Equal(16, split.Count); // 64 packets, every third in this tree: each of the 16 relays at least one
        foreach (var (node, t) in split)
        {
            Assert.Equal((full.ImageId, full.GroupId, full.Epoch, full.TreeCount, full.Tree, full.ChildCount), (t.ImageId, t.GroupId, t.Epoch, t.TreeCount, t.Tree, t.ChildCount));
            Assert.All(Enumerable.Range(0, t.ChildCount), c => Assert.Equal(1, t.CandidateCount[c]));
            Assert.Equal(RelayTree.EncodedLength(4, 4), t.ToBytes().Length);
            // candidate j of its own group gets candidate j of every child
            int j = own.FindIndex(m => m.NodeId == node);
            Assert.Equal(100 * 3 + (uint)j, t.CandidateNode[1 * RelayTree.MaxCandidates]);
        }
    }

    [Theory]
    [InlineData(5, 7, 3, 100)]
    [InlineData(16, 15, 2, 64)]
    [InlineData(3, 32, 1, 256)]
    [InlineData(32, 1, 8, 1000)]
    public void Every_packet_a_device_relays_goes_where_the_full_table_sends_it(int ownCount, int childCount, int trees, int chunks)
    {
        var own = Members(1, ownCount);
        var full = Full(trees - 1, trees, Members(2, childCount), Members(3, childCount + 1));
        var tables = RelayTableSplit.ForDevices(full, own, chunks).ToDictionary(x => x.Node, x => x.Table);
        for (int k = full.Tree; k < chunks; k += trees)
        {
            uint relay = own[RelayTree.CandidateIndex(k, ownCount)].NodeId;
            RelayTree t = tables[relay];
            Assert.True(t.RelaysPacket(k));
            for (int c = 0; c < full.ChildCount; c++)
            {
                Assert.Equal(full.CandidateNode[full.SlotFor(c, k)], t.CandidateNode[t.SlotFor(c, k)]);
                Assert.Equal(full.CandidateIp[full.SlotFor(c, k)], t.CandidateIp[t.SlotFor(c, k)]);
                Assert.Equal(full.CandidatePort[full.SlotFor(c, k)], t.CandidatePort[t.SlotFor(c, k)]);
                Assert.InRange(t.CandidateCount[c], 1, full.CandidateCount[c]);
            }
        }
    }

    [Fact]
    public void A_member_that_relays_no_packet_gets_no_table()
    {
        // 3 packets, tree 0 of 2: packets 0 and 2, relayed by candidates 0 and 2 of 16.
        var split = RelayTableSplit.ForDevices(Full(0, 2, Members(2, 4)), Members(1, 16), 3).Select(x => x.Node).ToList();
        Assert.Equal(new uint[] { 100, 102 }, split);
    }
}
