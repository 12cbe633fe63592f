using IotOta.DeviceFirmware.Tests.Support;
using IotOta.Shared.Protocol;
using static IotOta.DeviceFirmware.Tests.Support.Images;

namespace IotOta.DeviceFirmware.Tests.Agent;

public class DeviceAgentAllocationTests
{

    [Fact]
    public void Steady_state_packets_allocate_nothing_per_packet()
    {
        using var d = new DeviceHarness(nodeId: 1);
        d.Members(1, 1, 2, 3, 4);
        var img = Create(V(1, 1, 0), chunks: 200, chunkSize: 256, tail: 0);
        d.Manifest(img);
        string topic = Topics.DeviceIn(1);
        var relay = DeviceHarness.Member(50);
        byte[][] originals = Enumerable.Range(0, img.ChunkCount).Select(i => Original(img, i, relay)).ToArray();
        byte[][] copies = Enumerable.Range(0, img.ChunkCount).Select(i => Copy(img, i, sender: 2)).ToArray();
        byte[][] relays = Enumerable.Range(0, img.ChunkCount).Select(i => Copy(img, i, sender: 9, flags: DataPacket.FlagRelay)).ToArray();
        d.Mqtt.CountOnly = true;
        d.Peer.CountOnly = true;
        var agent = d.Agent;

        // warm-up: every path once (new original, new copy, new relay, duplicates)
        for (int i = 0; i < 10; i++)
        {
            agent.OnMqttMessage(topic, originals[i], 0, originals[i].Length);
            agent.OnPeerMessage(copies[i + 10], 0, copies[i + 10].Length);
            agent.OnPeerMessage(relays[i + 20], 0, relays[i + 20].Length);
            agent.OnPeerMessage(copies[i], 0, copies[i].Length);
            while (agent.PumpOnce()) { }
        }
        int sendsBefore = d.Peer.SendCount;
        int publishesBefore = d.Mqtt.PublishCount;
        int noticesBefore = d.Counters.NoticesSent;

        int packets = 0;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 30; i < 190; i += 3)
        {
            agent.OnMqttMessage(topic, originals[i], 0, originals[i].Length); // new original
            agent.OnPeerMessage(copies[i + 1], 0, copies[i + 1].Length);      // new plain copy
            agent.OnPeerMessage(relays[i + 2], 0, relays[i + 2].Length);      // new relay copy
            agent.OnPeerMessage(copies[i], 0, copies[i].Length);              // duplicate copy
            agent.OnMqttMessage(topic, originals[i - 30], 0, originals[i - 30].Length); // duplicate original
            packets += 5;
            while (agent.PumpOnce()) { }
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, d.Counters.MessagesRejected + d.Counters.BadChunkHashes + d.Counters.ForwardDrops);
        Assert.True(d.Peer.SendCount - sendsBefore >= packets / 5 * 3 * 3, "forwarding did not happen"); // 3 minimum units x 3 members
        // Every minimum unit is noticed; the notices go in NoticeBatches (at least one publish per pumped round).
        Assert.True(d.Counters.NoticesSent - noticesBefore >= packets / 5 * 3, "notices were not sent");
        Assert.True(d.Mqtt.PublishCount - publishesBefore >= packets / 5, "notice batches were not published");
        Assert.True(allocated == 0, $"{allocated} bytes allocated for {packets} packets ({allocated / (double)packets:F1} per packet)");
    }

    /// <summary>A sequential sink (In-Field Update): packets that come early wait in staging (flash) and move into the
    /// sink when the gap before them fills; forwarding reads them back from staging or the slot. Nothing of that
    /// allocates either, packet after packet.</summary>
    [Fact]
    public void Steady_state_with_a_sequential_sink_and_staging_allocates_nothing_per_packet()
    {
        using var d = new DeviceHarness(nodeId: 1, sequential: true, stagingSize: 64 * 1024);
        d.Members(1, 1, 2, 3);
        var img = Create(V(1, 1, 0), chunks: 200, chunkSize: 256, tail: 0);
        d.Manifest(img);
        string topic = Topics.DeviceIn(1);
        // each window of 8 packets arrives reversed: 7 of them wait in staging, then drain
        var order = new List<int>();
        for (int w = 0; w < img.ChunkCount; w += 8) for (int i = Math.Min(w + 8, img.ChunkCount) - 1; i >= w; i--) order.Add(i);
        byte[][] originals = order.Select(i => Original(img, i)).ToArray();
        d.Mqtt.CountOnly = true;
        d.Peer.CountOnly = true;
        var agent = d.Agent;
        for (int k = 0; k < 16; k++)
        {
            agent.OnMqttMessage(topic, originals[k], 0, originals[k].Length);
            while (agent.PumpOnce()) { }
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        int packets = 0;
        for (int k = 16; k < 192; k++)
        {
            agent.OnMqttMessage(topic, originals[k], 0, originals[k].Length);
            while (agent.PumpOnce()) { }
            packets++;
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(d.Counters.PacketsStaged >= 7 * 20, $"staging was not used ({d.Counters.PacketsStaged})");
        Assert.Equal(d.Counters.PacketsStaged, d.Counters.StagingDrained + d.Agent.StagedCount);
        Assert.Equal(0, d.Counters.MessagesRejected + d.Counters.BadChunkHashes + d.Counters.ForwardDrops + d.Counters.StagingFullDrops);
        Assert.Equal(192, d.Agent.HeldCount);
        Assert.True(allocated == 0, $"{allocated} bytes allocated for {packets} packets ({allocated / (double)packets:F1} per packet)");
    }
}
