using IotOta.Gateway.Core.Tests.Support;
using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Core.Tests.Node;

/// <summary>What the node does with each inbound message, on the fake broker port.</summary>
public sealed class InboundRouterTests
{
    [Fact]
    public async Task Presence_and_progress_reach_the_registry_and_the_ledger()
    {
        await using var h = await NodeHarness.StartAsync();
        var image = NodeHarness.Image();
        h.Presence(5, 2);
        h.Progress(5, image, DeviceState.Receiving, NodeHarness.Old, [0, 2]);
        var d = h.Node.Registry.Get(5)!;
        Assert.Equal(2, d.GroupId);
        Assert.True(d.Online);
        Assert.Equal(DeviceState.Receiving, d.State);
        Assert.True(h.Node.Holds(5, image.ImageId, 2));
        Assert.False(h.Node.Holds(5, image.ImageId, 1));
        Assert.Equal(2, h.Node.HeldCount(5, image.ImageId));
        Assert.Equal(1, h.Node.HeldReports);
        Assert.Equal(0, h.Node.MessagesRejected);
    }

    [Fact]
    public async Task A_report_without_a_bitmap_because_everything_or_nothing_is_held_is_learned_from_its_counts()
    {
        await using var h = await NodeHarness.StartAsync();
        var image = NodeHarness.Image();
        h.Presence(5, 2);
        h.Presence(6, 2);
        h.Updated(5, image); // every packet held: the report leaves the bitmap out (issue #15)
        h.Progress(6, image, DeviceState.Receiving, NodeHarness.Old, []);
        Assert.Equal(image.ChunkCount, h.Node.HeldCount(5, image.ImageId));
        Assert.True(h.Node.Holds(5, image.ImageId, image.ChunkCount - 1));
        Assert.Equal(0, h.Node.HeldCount(6, image.ImageId));
        Assert.False(h.Node.Holds(6, image.ImageId, 0));
        Assert.Equal(0, h.Node.MessagesRejected);
    }

    [Fact]
    public async Task A_message_for_another_node_than_its_topic_or_of_a_type_devices_do_not_send_is_rejected()
    {
        await using var h = await NodeHarness.StartAsync();
        var forged = new Presence { NodeId = 9, GroupId = 1, Online = true, RunningVersion = NodeHarness.Old }.ToBytes();
        h.Broker.Deliver(Topics.DeviceStatus(8), forged);
        h.Broker.Deliver(Topics.DeviceOut(8), NodeHarness.Image().ManifestBytes);
        h.Broker.Deliver(Topics.DeviceStatus(8), []); // a cleared retained message: ignored, not rejected
        Assert.Equal(2, h.Node.MessagesRejected);
        Assert.Null(h.Node.Registry.Get(9));
        Assert.Null(h.Node.Registry.Get(8));
    }

    [Fact]
    public async Task A_repair_request_tells_what_the_device_holds()
    {
        await using var h = await NodeHarness.StartAsync();
        var image = NodeHarness.Image();
        h.Presence(4, 1);
        h.Repair(4, image, [1, 3]);
        Assert.True(h.Node.Holds(4, image.ImageId, 0));
        Assert.False(h.Node.Holds(4, image.ImageId, 1));
        Assert.True(h.Node.Holds(4, image.ImageId, 2));
        Assert.False(h.Node.Holds(4, image.ImageId, 3));
    }

    [Fact]
    public async Task A_device_that_leaves_takes_its_pending_sends_with_it()
    {
        await using var h = await NodeHarness.StartAsync();
        var image = NodeHarness.Image();
        h.Presence(1, 1);
        h.Presence(2, 1);
        h.Node.Overheads.RegisterSend(1, 0);
        h.Node.Overheads.RegisterSend(2, 0);
        h.Presence(1, 1, online: false); // its last will
        h.Time.Advance(TimeSpan.FromMilliseconds(30));
        var notice = new ReceiptNotice { NodeId = 1, ImageId = image.ImageId, Index = 0, ReceiveTimeMs = 0, ForwardedTimeMs = 1, CopiesSent = 1 };
        Assert.Null(h.Node.Overheads.RegisterNotice(notice, 1024)); // no pending send left to measure against
        notice.NodeId = 2;
        Assert.NotNull(h.Node.Overheads.RegisterNotice(notice, 1024));
    }
    [Fact]
    public async Task A_receipt_notice_single_or_in_a_batch_or_a_compact_one_tells_the_ledger_its_sender_holds_the_packet()
    {
        await using var h = await NodeHarness.StartAsync();
        await h.JoinAsync(3, 1);
        var image = NodeHarness.Image();
        var run = h.Node.RunRolloutAsync(image, new Gateway.Rollouts.RolloutOptions { Timeout = TimeSpan.FromMinutes(1) }, null, CancellationToken.None);
        await h.PumpUntilAsync(() => h.Node.CurrentRollout != null);
        long before = h.Node.HeldReports;
        h.Notice(1, image, 2);
        var batch = new NoticeBatch { NodeId = 2, ImageId = image.ImageId, BaseTimeMs = 0 };
        batch.Add(0, ReceiptNotice.KindOriginal, 0, 5, 1);
        batch.Add(3, ReceiptNotice.KindOriginal, 1, 6, 1);
        var bytes = new byte[NoticeBatch.EncodedLength(batch.Count)];
        batch.Encode(bytes, 0);
        h.Broker.Deliver(Topics.DeviceOut(2), bytes);
        Assert.True(h.Node.Holds(1, image.ImageId, 2));
        Assert.False(h.Node.Holds(1, image.ImageId, 0));
        Assert.True(h.Node.Holds(2, image.ImageId, 0));
        Assert.True(h.Node.Holds(2, image.ImageId, 3));
        Assert.False(h.Node.Holds(2, image.ImageId, 2));
        Assert.Equal(before + 3, h.Node.HeldReports); // each new packet known counts as learned (HeldSkipper looks again)
        h.Notice(3, NodeHarness.Image(size: 2048), 0); // another image's notice: nothing learned
        Assert.Equal(before + 3, h.Node.HeldReports);
        // A compact batch names no node: its topic does (and one on a topic that names no device is rejected).
        var compact = new NoticeBatch { ImageId = image.ImageId, Compact = true };
        compact.Add(1, ReceiptNotice.KindOriginal, 10, 12, 1);
        var cb = new byte[NoticeBatch.CompactEncodedLength(compact.Count)];
        compact.Encode(cb, 0);
        long rejected = h.Node.MessagesRejected;
        h.Broker.Deliver(Topics.DeviceOut(3), cb);
        Assert.True(h.Node.Holds(3, image.ImageId, 1));
        Assert.False(h.Node.Holds(2, image.ImageId, 1));
        Assert.Equal(before + 4, h.Node.HeldReports);
        h.Broker.Deliver("iotota/dev/x/out", cb);
        Assert.Equal(rejected + 1, h.Node.MessagesRejected);
        h.Broker.Deliver(Topics.DeviceStatus(2), cb); // a device topic, but not its out topic
        Assert.Equal(rejected + 2, h.Node.MessagesRejected);
        Assert.False(h.Node.Holds(2, image.ImageId, 1));
        for (uint n = 1; n <= 3; n++) h.Updated(n, image);
        await h.PumpUntilAsync(() => run.IsCompleted);
    }
}
