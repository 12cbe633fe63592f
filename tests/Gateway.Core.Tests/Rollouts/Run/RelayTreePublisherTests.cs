using IotOta.Gateway.Core.Tests.Support;
using IotOta.Gateway.Rollouts;
using IotOta.Gateway.Scheduling;
using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Core.Tests.Rollouts.Run;

/// <summary>The relay tables as they go out: level-1 groups' retained on the group's tree topic (and the empty tables
/// of the groups that are leaves in every tree), deeper groups' one per relaying member on its in-topic, not retained
/// (N = 1,000 in 63 groups: 480 KB of retained tables became 186 KB).</summary>
public sealed class RelayTreePublisherTests
{
    private const int Groups = 30;

    /// <summary>Two devices in each of 30 groups (positions 5 .. 7 of the trees relay from device tables), a v1 rollout
    /// of 16 packets under way: the tables go out at its start.</summary>
    private static async Task<(NodeHarness H, Task<RolloutResult> Run)> ThirtyGroupsRollingOutAsync(TimeSpan timeout)
    {
        var h = await NodeHarness.StartAsync();
        await h.JoinAsync(2 * Groups, Groups);
        var run = h.Node.RunRolloutAsync(NodeHarness.Image(16 * 1024, 1024), new RolloutOptions { Timeout = timeout }, null, CancellationToken.None);
        return (h, run);
    }

    [Fact]
    public async Task Level_1_groups_get_their_table_retained_and_deeper_groups_one_table_per_relaying_member()
    {
        var (h, run) = await ThirtyGroupsRollingOutAsync(TimeSpan.FromMinutes(1));
        await using var _ = h;
        bool IsTable(byte[] b) => b.Length > 0 && WireHeader.Peek(b, 0, b.Length) == MessageType.RelayTree;
        await h.PumpUntilAsync(() => h.Broker.Published.Any(p => p.Topic.EndsWith("/in", StringComparison.Ordinal) && IsTable(p.Payload)));
        await h.AdvanceAsync(TimeSpan.FromMilliseconds(500), TimeSpan.FromMilliseconds(100));
        var published = h.Broker.Published.Where(p => IsTable(p.Payload)).ToList();
        RelayTree Parse(byte[] b)
        {
            var t = new RelayTree();
            t.Parse(b, 0, b.Length);
            return t;
        }
        var groupTables = published.Where(p => p.Topic.EndsWith("/tree", StringComparison.Ordinal)).ToList();
        var deviceTables = published.Where(p => p.Topic.EndsWith("/in", StringComparison.Ordinal)).ToList();
        Assert.Equal(published.Count, groupTables.Count + deviceTables.Count);
        Assert.NotEmpty(groupTables);
        Assert.NotEmpty(deviceTables);
        Assert.All(groupTables, p => Assert.True(p.Retain));
        Assert.All(groupTables, p => Assert.Equal(Topics.GroupTree(Parse(p.Payload).GroupId), p.Topic));
        Assert.All(deviceTables, p => Assert.False(p.Retain));
        var levelOne = groupTables.Select(p => Parse(p.Payload).GroupId).ToHashSet();
        foreach (var p in deviceTables)
        {
            RelayTree t = Parse(p.Payload);
            uint node = Topics.NodeIdOf(p.Topic);
            Assert.Equal((int)((node - 1) % Groups) + 1, t.GroupId); // a member of the table's group
            Assert.DoesNotContain(t.GroupId, levelOne);
        }
        // The groups that are leaves in every tree get an empty table on their tree topic (their devices then know
        // it, and stay silent for relay copies that ask for it); no other group does.
        var forest = new RelayForest(Enumerable.Range(1, Groups).ToList());
        var empty = groupTables.Select(p => Parse(p.Payload)).Where(t => t.ChildCount == 0).Select(t => t.GroupId).ToHashSet();
        Assert.NotEmpty(empty);
        Assert.Equal(Enumerable.Range(1, Groups).Where(g => !forest.HasChildrenBelowLevel1(g)).ToHashSet(), empty);
        // One table per member at most, and no group's table twice: the fleet did not change.
        Assert.Equal(deviceTables.Count, deviceTables.Select(p => p.Topic).Distinct().Count());
        Assert.Equal(groupTables.Count, levelOne.Count);
        Assert.False(run.IsCompleted);
    }

    [Fact]
    public async Task A_relay_that_was_offline_gets_its_table_again_when_it_comes_back()
    {
        // Its table is not retained: a relay that was away gets it from the rebuild its return causes (its group's
        // candidate list changes, the trees get a new epoch and the tables go out again, at most every 5 s).
        var (h, run) = await ThirtyGroupsRollingOutAsync(TimeSpan.FromMinutes(2));
        await using var _ = h;
        var tables = new RelayTree();
        List<(uint Node, uint Epoch)> DeviceTables() => h.Broker.Published
            .Where(p => p.Topic.EndsWith("/in", StringComparison.Ordinal) && p.Payload.Length > 0 && WireHeader.Peek(p.Payload, 0, p.Payload.Length) == MessageType.RelayTree)
            .Select(p =>
            {
                tables.Parse(p.Payload, 0, p.Payload.Length);
                return (Topics.NodeIdOf(p.Topic), tables.Epoch);
            }).ToList();
        await h.PumpUntilAsync(() => DeviceTables().Count > 0);
        var (away, epoch) = DeviceTables()[0];
        int group = (int)((away - 1) % Groups) + 1;
        h.Presence(away, group, online: false);
        await h.AdvanceAsync(TimeSpan.FromSeconds(8), TimeSpan.FromMilliseconds(100));
        Assert.DoesNotContain(DeviceTables(), t => t.Node == away && t.Epoch > epoch); // away: nothing for it
        h.Presence(away, group);
        await h.AdvanceAsync(TimeSpan.FromSeconds(8), TimeSpan.FromMilliseconds(100));
        Assert.Contains(DeviceTables(), t => t.Node == away && t.Epoch > epoch);
        Assert.False(run.IsCompleted);
    }
}
