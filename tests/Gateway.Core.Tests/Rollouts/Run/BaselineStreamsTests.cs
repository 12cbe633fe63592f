using IotOta.Gateway.Core.Tests.Support;
using IotOta.Gateway.Fleet;
using IotOta.Gateway.Images;
using IotOta.Gateway.Rollouts;
using IotOta.Gateway.Rollouts.Run;
using IotOta.Gateway.Scheduling;
using IotOta.Shared.Protocol;
using Microsoft.Extensions.Time.Testing;

namespace IotOta.Gateway.Core.Tests.Rollouts.Run;

/// <summary>Under a benchmark baseline the gateway repairs what was lost on a device's stream, never what is still on
/// its way (MQTT over TCP loses nothing while the device stays connected), and skips nothing as held.</summary>
public sealed class BaselineStreamsTests
{
    private static RolloutOptions Options(IBaselineStrategy baseline) => new()
    {
        Timeout = TimeSpan.FromMinutes(5),
        Scheduler = new SchedulerOptions { PriorForwardRate = 1_000_000 },
        Baseline = baseline,
    };

    /// <summary>Unicast: every packet to every device's in-topic, packet by packet.</summary>
    private sealed class EveryDevice : IBaselineStrategy
    {
        public string Name => "every-device";

        public IEnumerable<(string Topic, int Index)> Sends(IReadOnlyList<FleetMember> targets, int chunkCount) =>
            from k in Enumerable.Range(0, chunkCount) from m in targets select (Topics.DeviceIn(m.NodeId), k);

        public bool AnswersRepairsOf(uint node) => true;
    }

    private static async Task<(NodeHarness H, FirmwareImage Image, Task<RolloutResult> Run)> StreamedAsync()
    {
        var h = await NodeHarness.StartAsync();
        await h.JoinAsync(3, 1);
        var image = NodeHarness.Image();
        var run = h.Node.RunRolloutAsync(image, Options(new EveryDevice()), null, CancellationToken.None);
        await h.PumpUntilAsync(() => h.RepairCopies().Count == 3 * image.ChunkCount);
        return (h, image, run);
    }

    private static async Task<RolloutResult> FinishAsync(NodeHarness h, FirmwareImage image, Task<RolloutResult> run)
    {
        for (uint n = 1; n <= 3; n++) h.Updated(n, image);
        await h.PumpUntilAsync(() => run.IsCompleted);
        return await run;
    }

    /// <summary>The device asks for every packet and gets each as a repair copy; then the run finishes.</summary>
    private static async Task AsksForAllAndGetsThemAsync(NodeHarness h, FirmwareImage image, Task<RolloutResult> run, uint node)
    {
        h.Repair(node, image, Enumerable.Range(0, image.ChunkCount));
        await h.PumpUntilAsync(() => h.RepairCopies().Count == 4 * image.ChunkCount);
        Assert.All(h.RepairCopies().Skip(3 * image.ChunkCount), c => Assert.Equal(node, c.Root));
        await FinishAsync(h, image, run);
    }

    [Fact]
    public async Task A_packet_sent_on_the_stream_and_not_yet_overtaken_is_on_its_way_and_is_not_repaired()
    {
        var (h, image, run) = await StreamedAsync();
        await using var _ = h;
        h.Repair(1, image, Enumerable.Range(0, image.ChunkCount));
        await h.AdvanceAsync(TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(20));
        Assert.Equal(3 * image.ChunkCount, h.RepairCopies().Count);
        var r = await FinishAsync(h, image, run);
        Assert.Equal(3L * image.Bytes.Length, r.GatewayPayloadBytes);
        Assert.Equal(0, r.RepairCopiesSent);
    }

    [Fact]
    public async Task A_later_packet_held_does_not_make_an_earlier_one_lost_as_peers_repair_out_of_order()
    {
        var (h, image, run) = await StreamedAsync();
        await using var _ = h;
        h.Repair(2, image, [1]);
        await h.AdvanceAsync(TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(20));
        Assert.Equal(3 * image.ChunkCount, h.RepairCopies().Count);
        await FinishAsync(h, image, run);
    }

    [Fact]
    public async Task What_went_out_before_a_device_rejoined_is_repaired()
    {
        var (h, image, run) = await StreamedAsync();
        await using var _ = h;
        h.Presence(3, 1, online: false);
        await h.PumpUntilAsync(() => h.Node.Destinations.Members.Count == 2);
        h.Presence(3, 1);
        await h.PumpUntilAsync(() => h.Node.Destinations.Members.Count == 3);
        await AsksForAllAndGetsThemAsync(h, image, run, 3);
    }

    [Fact]
    public async Task A_device_that_gains_nothing_for_the_stall_time_gets_what_its_stream_carried()
    {
        var (h, image, run) = await StreamedAsync();
        await using var _ = h;
        h.Repair(1, image, Enumerable.Range(0, image.ChunkCount));
        await h.AdvanceAsync(BaselineStreams.StallAfter - TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(50));
        h.Repair(1, image, Enumerable.Range(0, image.ChunkCount));
        await h.AdvanceAsync(TimeSpan.FromMilliseconds(500), TimeSpan.FromMilliseconds(20));
        Assert.Equal(3 * image.ChunkCount, h.RepairCopies().Count);
        await h.AdvanceAsync(TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(50));
        await AsksForAllAndGetsThemAsync(h, image, run, 1);
    }

    [Fact]
    public async Task A_baseline_skips_nothing_as_held()
    {
        var (h, image, run) = await StreamedAsync();
        await using var _ = h;
        h.Progress(1, image, DeviceState.Receiving, NodeHarness.Old, Enumerable.Range(0, image.ChunkCount));
        await h.AdvanceAsync(TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(20));
        var r = await FinishAsync(h, image, run);
        Assert.Equal(0, r.DeliveriesSkipped);
    }

    [Fact]
    public void A_group_stream_is_judged_by_what_went_out_on_the_group_topic()
    {
        var time = new FakeTimeProvider();
        var registry = new DeviceRegistry(time);
        registry.OnPresence(new Presence { NodeId = 7, GroupId = 2, Online = true, Ip = 1, Port = 1, RunningVersion = new FirmwareVersion(1, 0, 0) });
        var streams = new BaselineStreams(new GroupTopics(), registry, time);
        streams.Sent("g/2", 0);
        streams.Sent("g/2", 1);
        streams.Sent(Topics.DeviceIn(7), 3);
        var bits = new byte[1];
        bits[0] = 0b1110; // missing 1, 2, 3; holds 0
        RepairRequest Request() => new() { NodeId = 7, ImageId = 1, ChunkCount = 4, MaxReplies = 8, MissingBuffer = bits, MissingOffset = 0 };
        var lost = streams.LostIn(Request());
        Assert.False(lost(1)); // sent on the group topic: on its way
        Assert.False(lost(3)); // the device's own in-topic is not its stream
        time.Advance(BaselineStreams.StallAfter);
        lost = streams.LostIn(Request());
        Assert.True(lost(1)); // gained nothing since: lost
        Assert.False(lost(2)); // not sent yet on the group topic
        bits[0] = 0b0100; // gained 1 and 3
        lost = streams.LostIn(Request());
        Assert.False(lost(2)); // not sent yet
        streams.Sent("g/2", 2);
        Assert.False(streams.LostIn(Request())(2)); // just gained: on its way
    }

    private sealed class GroupTopics : IBaselineStrategy
    {
        public string Name => "groups";
        public IEnumerable<(string Topic, int Index)> Sends(IReadOnlyList<FleetMember> targets, int chunkCount) => [];
        public bool AnswersRepairsOf(uint node) => true;
        public string StreamOf(uint node, int group) => "g/" + group;
    }
}
