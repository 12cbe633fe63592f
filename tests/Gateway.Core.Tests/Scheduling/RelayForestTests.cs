using IotOta.Gateway.Fleet;
using IotOta.Gateway.Scheduling;
using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Core.Tests.Scheduling;

public class RelayForestTests
{
    private static RelayForest Forest(int groups) => new(Enumerable.Range(1, groups).Select(g => 3 * g).ToList());

    [Theory]
    [InlineData(10)]
    [InlineData(32)]
    [InlineData(200)]
    [InlineData(313)]
    [InlineData(3125)]
    public void Every_tree_holds_every_group_once_with_fan_out_at_most_MaxTargets(int groups)
    {
        var f = Forest(groups);
        Assert.InRange(f.TreeCount, 1, RelayTree.MaxTrees);
        for (int t = 0; t < f.TreeCount; t++)
        {
            var seen = Enumerable.Range(0, groups).Select(p => f.GroupAt(t, p)).ToList();
            Assert.Equal(groups, seen.Distinct().Count());
            for (int p = 0; p < groups; p++)
            {
                Assert.InRange(f.ChildCount(p), 0, RelayForest.FanOut);
                Assert.True(RelayForest.FanOut <= DataPacket.MaxTargets);
                Assert.Equal(p, f.PositionOf(t, f.GroupAt(t, p)));
            }
            // Children counted from the parents cover every position but the root exactly once.
            Assert.Equal(groups - 1, Enumerable.Range(0, groups).Sum(f.ChildCount));
        }
        Assert.Equal((int)Math.Ceiling(Math.Log(groups * (RelayForest.FanOut - 1) + 1, RelayForest.FanOut)) - 1, f.Depth);
    }

    [Theory]
    [InlineData(10)]
    [InlineData(32)]
    [InlineData(200)]
    [InlineData(3125)]
    public void A_group_has_children_in_at_most_one_tree_so_relay_work_is_spread(int groups)
    {
        var f = Forest(groups);
        var internalIn = new Dictionary<int, int>();
        for (int t = 0; t < f.TreeCount; t++)
            for (int p = 0; p < groups; p++)
                if (f.ChildCount(p) > 0) internalIn[f.GroupAt(t, p)] = internalIn.GetValueOrDefault(f.GroupAt(t, p)) + 1;
        Assert.All(internalIn, kv => Assert.Equal(1, kv.Value));
        Assert.Equal(f.TreeCount * f.InternalCount, internalIn.Count);
    }

    [Fact]
    public void Subtree_is_every_position_whose_parent_chain_reaches_it()
    {
        var f = Forest(600);
        foreach (int p in new[] { 0, 1, 5, 8, 9, 40, 72, 500 })
        {
            var expected = Enumerable.Range(0, 600).Where(q =>
            {
                for (int a = RelayForest.Parent(q); a >= 0; a = RelayForest.Parent(a)) if (a == p) return true;
                return false;
            });
            Assert.Equal(expected, f.SubtreeOf(p));
        }
        Assert.Equal(599, f.SubtreeOf(0).Count());
    }

    [Fact]
    public void Tables_name_each_groups_children_with_their_candidates()
    {
        var f = Forest(200);
        var members = Enumerable.Range(1, 200).ToDictionary(i => 3 * i,
            i => (IReadOnlyList<FleetMember>)Enumerable.Range(0, 3).Select(j => new FleetMember((uint)(10 * i + j), 3 * i, 0x0A000001, 5000 + j)).ToList());
        var all = f.Tables(42, 7, g => members[g]).ToList();
        // one table per group: positions 1 .. I−1 of every tree name their children (the root's children are named in
        // the original); every other group gets an empty one, so its devices know they are leaves of every tree
        Assert.Equal(200, all.Select(t => t.GroupId).Distinct().Count());
        Assert.Equal(200, all.Count);
        var tables = all.Where(t => t.ChildCount > 0).ToList();
        Assert.Equal(f.TreeCount * (f.InternalCount - 1), tables.Count);
        foreach (var t in all.Where(t => t.ChildCount == 0))
        {
            Assert.False(f.HasChildrenBelowLevel1(t.GroupId));
            Assert.Equal((42u, 7u, f.TreeCount, 0), (t.ImageId, t.Epoch, t.TreeCount, t.Tree));
            Assert.False(t.RelaysPacket(0));
            Assert.Equal(RelayTree.FixedLength, t.ToBytes().Length);
        }
        foreach (var t in tables)
        {
            Assert.True(f.HasChildrenBelowLevel1(t.GroupId));
            Assert.Equal(42u, t.ImageId);
            Assert.Equal(7u, t.Epoch);
            Assert.Equal(f.TreeCount, t.TreeCount);
            int p = f.PositionOf(t.Tree, t.GroupId);
            Assert.InRange(p, 1, f.InternalCount - 1);
            Assert.Equal(f.ChildCount(p), t.ChildCount);
            for (int c = 0; c < t.ChildCount; c++)
            {
                Assert.Equal(f.GroupAt(t.Tree, RelayForest.FirstChild(p) + c), t.ChildGroup[c]);
                Assert.Equal(3, t.CandidateCount[c]);
                Assert.Equal(members[t.ChildGroup[c]][1].NodeId, t.CandidateNode[c * RelayTree.MaxCandidates + 1]);
            }
            Assert.Equal(t.ToBytes().Length, RelayTree.EncodedLength(t.ChildCount, 3 * t.ChildCount));
        }
    }

    [Fact]
    public void Few_groups_need_no_trees()
    {
        Assert.Throws<ArgumentException>(() => Forest(1 + DataPacket.MaxTargets));
        Assert.Throws<ArgumentException>(() => new RelayForest(Enumerable.Repeat(4, 12).ToList()));
    }
}
