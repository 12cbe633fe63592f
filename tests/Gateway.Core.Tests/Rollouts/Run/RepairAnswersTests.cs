using IotOta.Gateway.Core.Tests.Support;
using IotOta.Gateway.Rollouts;
using IotOta.Gateway.Rollouts.Run;
using IotOta.Gateway.Scheduling;
using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Core.Tests.Rollouts.Run;

/// <summary>Who answers a repair request: a group mate known to hold the packets, unless it dropped the image.</summary>
public sealed class RepairAnswersTests
{
    private static RolloutOptions Options() => new()
    {
        Timeout = TimeSpan.FromMinutes(5),
        Scheduler = new SchedulerOptions { PriorForwardRate = 1_000_000 },
    };

    private static int DonorOrdersTo(NodeHarness h, uint node) =>
        h.Broker.To(Topics.DeviceIn(node)).Count(p => p.Length > 0 && WireHeader.Peek(p, 0, p.Length) == MessageType.RepairRequest);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_mate_holding_the_packets_is_the_donor_unless_it_rolled_back_then_the_gateway_sends_them(bool rolledBack)
    {
        await using var h = await NodeHarness.StartAsync();
        await h.JoinAsync(3, 1);
        var image = NodeHarness.Image();
        var run = h.Node.RunRolloutAsync(image, Options(), null, CancellationToken.None);
        await h.PumpUntilAsync(() => h.Originals().Select(o => o.Packet.Index).Distinct().Count() == image.ChunkCount);
        foreach (var (root, p) in h.Originals()) h.Notice(root, image, p.Index);
        var all = Enumerable.Range(0, image.ChunkCount).ToArray();
        // devices 1 and 2 received the whole image; device 3 got none of it (its copies were lost)
        foreach (uint n in new uint[] { 1, 2 }) h.Progress(n, image, DeviceState.Receiving, NodeHarness.Old, all);
        // ... then installed it, failed the self-test and rolled back: they serve no packets of it any more
        if (rolledBack)
            foreach (uint n in new uint[] { 1, 2 }) h.Progress(n, image, DeviceState.RolledBack, NodeHarness.Old, []);
        await h.PumpUntilAsync(() => all.All(k => h.Node.CurrentRollout!.Scheduler.IsDeliveredTo(3, k)));
        h.Repair(3, image, all);
        if (rolledBack)
        {
            await h.PumpUntilAsync(() => h.RepairCopies().Count(c => c.Root == 3) == image.ChunkCount);
            Assert.Equal(0, DonorOrdersTo(h, 1) + DonorOrdersTo(h, 2));
        }
        else
        {
            await h.PumpUntilAsync(() => DonorOrdersTo(h, 1) + DonorOrdersTo(h, 2) > 0);
            Assert.Empty(h.RepairCopies());
        }
        _ = run;
    }

    private static long AcrossOrders(NodeHarness h) => h.Node.CurrentRollout!.DonorOrders.SentAcross;

    [Fact]
    public async Task A_packet_still_coming_to_the_group_is_not_ordered_across_groups_but_one_lost_there_is()
    {
        // A device deep in its group's copy tree that has nothing yet asks its peers, then the gateway, for everything.
        // Packets whose original another group already noticed were ordered to it across groups as relay copies, and it
        // copied each to its whole group a second time (at N = 1,000 the last device then finished 38-58 s in instead of
        // ~31). While the packet's relay into the group has neither noticed nor left, it is coming: nothing is ordered.
        await using var h = await NodeHarness.StartAsync();
        await h.JoinAsync(4, 2); // group 1: devices 1 and 3; group 2: devices 2 and 4
        var image = NodeHarness.Image();
        var run = h.Node.RunRolloutAsync(image, Options(), null, CancellationToken.None);
        await h.PumpUntilAsync(() => h.Originals().Any(o => o.Packet.Index == 0));
        var (root, original) = h.Originals().First(o => o.Packet.Index == 0);
        Assert.Equal(1, original.TargetCount); // one relay into the other group
        uint relay = original.TargetNode[0];
        uint requester = relay <= 2 ? relay + 2 : relay - 2; // the relay's group mate
        h.Notice(root, image, 0); // the root's group has packet 0, and the root holds it
        await h.PumpUntilAsync(() => h.Node.CurrentRollout!.Scheduler.IsDeliveredTo(root, 0));
        Func<uint, bool> mayForward = n => h.Node.Registry.Get(n) is { } d && d.MayDonate(image);
        int group = h.Node.Registry.Get(requester)!.GroupId;
        Assert.True(h.Node.CurrentRollout!.Scheduler.IsComing(group, 0, mayForward));

        h.Repair(requester, image, [0]);
        await h.AdvanceAsync(TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(20));
        Assert.Equal(0, AcrossOrders(h));
        Assert.DoesNotContain(h.RepairCopies(), c => c.Root == requester);

        // The relay rolled back before it noticed: it passes nothing on (the plan still holds it until the destination
        // list changes), so the packet is not coming; a device of the other group is ordered to send it across.
        h.Progress(relay, image, DeviceState.RolledBack, NodeHarness.Old, []);
        await h.PumpUntilAsync(() => !h.Node.CurrentRollout!.Scheduler.IsComing(group, 0, mayForward));
        h.Repair(requester, image, [0]);
        await h.PumpUntilAsync(() => AcrossOrders(h) > 0);
        _ = run;
    }
}
