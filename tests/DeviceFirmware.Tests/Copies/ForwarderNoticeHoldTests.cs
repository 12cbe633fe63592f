using IotOta.DeviceFirmware.Tests.Support;
using IotOta.Shared.Protocol;
using static IotOta.DeviceFirmware.Tests.Support.Images;

namespace IotOta.DeviceFirmware.Tests.Copies;

/// <summary>Issue #15: receipt notices share NoticeBatches; how long a batch waits adapts to how far apart the device's
/// notices come (twice their smoothed gap, between DeviceConfig.NoticeHoldMs and NoticeHoldMaxMs).</summary>
public class ForwarderNoticeHoldTests
{
    private static (DeviceHarness d, IotOta.Gateway.Images.FirmwareImage img) Receiving()
    {
        var d = new DeviceHarness(nodeId: 1, groupId: 1, configure: c => { c.NoticeHoldMs = 40; c.NoticeHoldMaxMs = 400; });
        d.Members(1, 1, 2);
        var img = Create(V(1, 1, 0), chunks: 12);
        d.Manifest(img);
        return (d, img);
    }

    private static void Arrive(DeviceHarness d, IotOta.Gateway.Images.FirmwareImage img, int index, int thenMs)
    {
        d.Original(img, index);
        d.PumpAll();
        for (int t = 0; t < thenMs; t += 10)
        {
            d.Clock.Advance(10);
            d.Agent.Tick();
        }
    }

    [Fact]
    public void Notices_that_come_far_apart_wait_longer_and_share_batches()
    {
        var (d, img) = Receiving();
        using var _ = d;
        for (int i = 0; i < 10; i++) Arrive(d, img, i, 200);
        Arrive(d, img, 10, 1000);
        var batches = d.Out(MessageType.CompactNoticeBatch);
        Assert.Equal(Enumerable.Range(0, 11), d.Notices().Select(n => n.Index).OrderBy(i => i));
        // At a fixed 40 ms hold each of the 11 notices (200 ms apart) would go alone; the hold grows to ~2 gaps.
        Assert.InRange(batches.Count, 4, 8);
    }

    [Fact]
    public void Notices_that_come_close_together_go_within_the_minimum_hold()
    {
        var (d, img) = Receiving();
        using var _ = d;
        Arrive(d, img, 0, 30);
        Assert.Empty(d.Out(MessageType.CompactNoticeBatch)); // held: 30 of the 40 ms minimum
        Arrive(d, img, 1, 20);
        Assert.Single(d.Out(MessageType.CompactNoticeBatch)); // 50 ms: out, with the second one
        for (int i = 2; i < 8; i++) Arrive(d, img, i, 10);
        Arrive(d, img, 8, 60); // 10 ms gaps keep the hold at the 40 ms minimum
        Assert.Equal(9, d.Notices().Count);
        Assert.InRange(d.Out(MessageType.CompactNoticeBatch).Count, 3, 4);
    }

    [Fact]
    public void Notice_batches_go_at_most_once_and_the_device_s_other_messages_at_least_once()
    {
        var (d, img) = Receiving();
        using var _ = d;
        for (int i = 0; i < 12; i++) Arrive(d, img, i, 500);
        var outbound = d.Mqtt.Published.Where(p => p.Topic == d.OutTopic && p.Bytes.Length >= 4).ToList();
        var batches = outbound.Where(p => p.Bytes[3] == (byte)MessageType.CompactNoticeBatch).ToList();
        Assert.NotEmpty(batches);
        // QoS 0: the broker sends no PUBACK for a batch, nor a packet id with it to the gateway (6 B of ~55)
        Assert.All(batches, b => Assert.True(b.AtMostOnce));
        Assert.All(batches, b => Assert.False(b.Retain));
        var others = d.Mqtt.Published.Where(p => !batches.Contains(p)).ToList();
        Assert.Contains(others, p => p.Bytes.Length >= 4 && p.Bytes[3] == (byte)MessageType.ProgressReport);
        Assert.All(others, p => Assert.False(p.AtMostOnce));
    }
}
