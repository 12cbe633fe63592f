using IotOta.Gateway.Core.Tests.Support;
using IotOta.Gateway.Rollouts;
using IotOta.Gateway.Scheduling;
using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Core.Tests.Rollouts;

/// <summary>The run loop without a broker: a fake broker port, a fake clock, and the test playing the devices.</summary>
public sealed class RolloutEngineTests
{
    private static RolloutOptions Options(TimeSpan? timeout = null) => new()
    {
        Timeout = timeout ?? TimeSpan.FromMinutes(1),
        Scheduler = new SchedulerOptions { PriorForwardRate = 1_000_000 },
    };

    /// <summary>Answers every original with its root's receipt notice (the devices pass packets on; the test does not).</summary>
    private static void NoticeOriginals(NodeHarness h, IotOta.Gateway.Images.FirmwareImage image, HashSet<int> noticed)
    {
        foreach (var (root, p) in h.Originals())
            if (noticed.Add(p.Index)) h.Notice(root, image, p.Index);
    }

    [Fact]
    public async Task Each_packet_goes_out_once_for_the_whole_fleet_and_the_run_ends_when_every_device_runs_the_image()
    {
        await using var h = await NodeHarness.StartAsync();
        await h.JoinAsync(4, 2);
        var image = NodeHarness.Image();
        var run = h.Node.RunRolloutAsync(image, Options(), null, CancellationToken.None);
        var noticed = new HashSet<int>();
        await h.PumpUntilAsync(() =>
        {
            NoticeOriginals(h, image, noticed);
            return noticed.Count == image.ChunkCount;
        });
        Assert.False(run.IsCompleted);
        for (uint n = 1; n <= 4; n++) h.Updated(n, image);
        await h.PumpUntilAsync(() => run.IsCompleted);
        var r = await run;

        Assert.Equal(4, r.Devices);
        Assert.Equal(4, r.Updated);
        Assert.False(r.TimedOut);
        Assert.Equal(image.ChunkCount, r.OriginalsSent);
        Assert.Equal(image.Bytes.Length, r.GatewayPayloadBytes);
        Assert.Equal(Enumerable.Range(0, image.ChunkCount), h.Originals().Select(o => o.Packet.Index).Order());
        // the manifest went out retained to both groups before any original
        Assert.Single(h.Broker.To(Topics.GroupManifest(1)));
        Assert.Single(h.Broker.To(Topics.GroupManifest(2)));
        int firstManifest = h.Broker.Published.ToList().FindIndex(p => p.Topic == Topics.GroupManifest(1));
        int firstOriginal = h.Broker.Published.ToList().FindIndex(p => p.Topic.EndsWith("/in", StringComparison.Ordinal));
        Assert.True(firstManifest < firstOriginal);
        Assert.Null(h.Node.CurrentRollout);
    }

    [Fact]
    public async Task A_paused_rollout_sends_nothing_and_its_paused_time_does_not_count_toward_the_timeout()
    {
        await using var h = await NodeHarness.StartAsync();
        await h.JoinAsync(2, 1);
        var image = NodeHarness.Image();
        RolloutEngine? engine = null;
        var run = h.Node.RunRolloutAsync(image, Options(TimeSpan.FromSeconds(10)), null, CancellationToken.None, e =>
        {
            engine = e;
            Assert.True(e.Pause());
        });
        // 30 s paused on the fake clock: no original, no timeout
        await h.AdvanceAsync(TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(100));
        Assert.Empty(h.Originals());
        Assert.False(run.IsCompleted);
        Assert.True(engine!.Resume());
        Assert.False(engine.Resume());
        await h.PumpUntilAsync(() => h.Originals().Count == image.ChunkCount);
        // nobody updates: the run times out 10 s of unpaused time later
        await h.PumpUntilAsync(() => run.IsCompleted, step: TimeSpan.FromMilliseconds(100), maxSteps: 200);
        var r = await run;
        Assert.True(r.TimedOut);
        Assert.Equal(0, r.Updated);
        Assert.InRange(r.Seconds, 39, 42);
    }

    [Fact]
    public async Task After_the_broker_link_comes_back_the_manifests_go_out_again()
    {
        await using var h = await NodeHarness.StartAsync();
        await h.JoinAsync(2, 2);
        var image = NodeHarness.Image();
        var run = h.Node.RunRolloutAsync(image, Options(), null, CancellationToken.None);
        await h.PumpUntilAsync(() => h.Broker.To(Topics.GroupManifest(2)).Count == 1);
        h.Broker.Drop();
        h.Broker.Restore();
        await h.PumpUntilAsync(() => h.Broker.To(Topics.GroupManifest(1)).Count == 2 && h.Broker.To(Topics.GroupManifest(2)).Count == 2);
        Assert.Equal(1, h.Node.Reconnects);
        for (uint n = 1; n <= 2; n++) h.Updated(n, image);
        await h.PumpUntilAsync(() => run.IsCompleted);
        Assert.Equal(1, (await run).Reconnects);
    }

    [Fact]
    public async Task A_repair_request_for_a_delivered_packet_goes_to_the_member_that_noticed_it_or_the_gateway_and_one_for_a_packet_still_on_its_way_gets_none()
    {
        await using var h = await NodeHarness.StartAsync();
        await h.JoinAsync(2, 1);
        var image = NodeHarness.Image();
        var run = h.Node.RunRolloutAsync(image, Options(), null, CancellationToken.None);
        await h.PumpUntilAsync(() => h.Originals().Count >= 1);
        var (root, first) = h.Originals()[0];
        h.Notice(root, image, first.Index);
        uint other = root == 1 ? 2u : 1u;
        int notYetNoticed = Enumerable.Range(0, image.ChunkCount).First(k => k != first.Index); // sent, its notice not back: on its way
        await h.PumpUntilAsync(() => h.Node.CurrentRollout!.Scheduler.IsDeliveredTo(other, first.Index));
        // the root noticed the packet, so the gateway knows it holds it: a group mate that misses it is served by the
        // root (a donor order), not by the gateway
        h.Repair(other, image, [first.Index]);
        await h.PumpUntilAsync(() => DonorOrdersTo(h, root) == 1);
        Assert.Empty(h.RepairCopies());
        h.Presence(root, 1, online: false); // the root left: nobody online holds it, the gateway sends it
        h.Repair(other, image, [first.Index]);
        await h.PumpUntilAsync(() => h.RepairCopies().Count == 1);
        var copy = h.RepairCopies().Single();
        Assert.Equal(other, copy.Root);
        Assert.Equal(first.Index, copy.Packet.Index);
        h.Repair(other, image, [notYetNoticed]);
        h.Time.Advance(TimeSpan.FromMilliseconds(100));
        await Task.Delay(20);
        Assert.Single(h.RepairCopies());
        h.Presence(root, 1);
        for (uint n = 1; n <= 2; n++) h.Updated(n, image);
        await h.PumpUntilAsync(() => run.IsCompleted);
        Assert.Equal(1, (await run).RepairCopiesSent);
        Assert.Equal(1, DonorOrdersTo(h, root));
    }

    /// <summary>Repair requests the gateway published to the device's in-topic (donor orders).</summary>
    private static int DonorOrdersTo(NodeHarness h, uint node) =>
        h.Broker.Published.Count(p => p.Topic == Topics.DeviceIn(node) && p.Payload.Length > 0
            && WireHeader.Peek(p.Payload, 0, p.Payload.Length) == MessageType.RepairRequest);

    [Fact]
    public async Task An_aborted_rollout_clears_its_retained_group_manifests()
    {
        await using var h = await NodeHarness.StartAsync();
        await h.JoinAsync(2, 2);
        var image = NodeHarness.Image();
        using var cts = new CancellationTokenSource();
        var run = h.Node.RunRolloutAsync(image, Options(), null, cts.Token);
        await h.PumpUntilAsync(() => h.Broker.To(Topics.GroupManifest(2)).Count == 1);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Assert.Equal(0, h.Broker.To(Topics.GroupManifest(1)).Last().Length);
        Assert.Equal(0, h.Broker.To(Topics.GroupManifest(2)).Last().Length);
    }

    [Fact]
    public async Task A_baseline_strategy_replaces_the_plan()
    {
        await using var h = await NodeHarness.StartAsync();
        await h.JoinAsync(3, 1);
        var image = NodeHarness.Image();
        var run = h.Node.RunRolloutAsync(image, Options() with { Baseline = new EveryDevice() }, null, CancellationToken.None);
        await h.PumpUntilAsync(() => h.RepairCopies().Count == 3 * image.ChunkCount);
        Assert.Empty(h.Originals());
        for (uint n = 1; n <= 3; n++) h.Updated(n, image);
        await h.PumpUntilAsync(() => run.IsCompleted);
        var r = await run;
        Assert.Equal(3L * image.Bytes.Length, r.GatewayPayloadBytes);
    }

    private sealed class EveryDevice : IBaselineStrategy
    {
        public string Name => "every-device";

        public IEnumerable<(string Topic, int Index)> Sends(IReadOnlyList<IotOta.Gateway.Fleet.FleetMember> targets, int chunkCount) =>
            from k in Enumerable.Range(0, chunkCount) from m in targets select (Topics.DeviceIn(m.NodeId), k);

        public bool AnswersRepairsOf(uint node) => true;
    }
}
