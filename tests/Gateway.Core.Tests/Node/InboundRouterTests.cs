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
}
