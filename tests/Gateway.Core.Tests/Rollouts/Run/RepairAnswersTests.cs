using IotOta.Gateway.Core.Tests.Support;
using IotOta.Gateway.Rollouts;
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
}
