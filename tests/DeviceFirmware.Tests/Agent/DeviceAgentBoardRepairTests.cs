using IotOta.DeviceFirmware.Tests.Support;
using IotOta.Gateway.Images;
using IotOta.Shared.Chunking;
using IotOta.Shared.Protocol;
using static IotOta.DeviceFirmware.Tests.Support.Images;

namespace IotOta.DeviceFirmware.Tests.Agent;

/// <summary>Repairs on small boards: peers with small forward queues still answer (a fixed reserve of 8 jobs left the
/// C3's queue of 8 no room, so every repair went to the gateway), and a sequential device whose staging is full still
/// takes a peer's in-order reply straight into its sink.</summary>
public class DeviceAgentBoardRepairTests
{
    private static byte[] Request(uint from, FirmwareImage img, int maxReplies, IEnumerable<int> missing)
    {
        var bits = new PacketBitmap(img.ChunkCount);
        for (int i = 0; i < img.ChunkCount; i++) if (!missing.Contains(i)) bits.Set(i);
        var miss = new byte[PacketBitmap.ByteLength(img.ChunkCount)];
        bits.WriteMissing(miss, 0);
        var rq = new RepairRequest { NodeId = from, ImageId = img.ImageId, ChunkCount = img.ChunkCount, MaxReplies = maxReplies, MissingBuffer = miss };
        var b = new byte[RepairRequest.EncodedLength(img.ChunkCount)];
        rq.Encode(b, 0);
        return b;
    }

    [Theory]
    [InlineData(8, 6)]   // esp32-c3: a queue of 8 keeps 2 for minimum units (a fixed 8 left it no room at all)
    [InlineData(16, 12)] // esp32-devkitc
    [InlineData(64, 56)]
    public void A_peer_with_a_small_forward_queue_answers_repair_requests(int queue, int answered)
    {
        using var d = new DeviceHarness(nodeId: 2, configure: c => c.ForwardQueueCapacity = queue);
        d.Members(1, 1, 2, 3);
        var img = Create(V(1, 1, 0), chunks: 70);
        d.Manifest(img);
        for (int i = 0; i < img.ChunkCount; i++) d.FromPeer(Copy(img, i, sender: 3));
        d.FromPeer(Request(1, img, maxReplies: 64, missing: Enumerable.Range(0, img.ChunkCount)));
        d.PumpAll();
        var replies = d.Peer.Sends.Where(s => s.Bytes[3] == (byte)MessageType.Copy).ToList();
        Assert.Equal(answered, replies.Count);
        Assert.Equal(Enumerable.Range(0, answered), replies.Select(s => Parsed.Data(s.Bytes).Index)); // lowest first
    }

    [Fact]
    public void A_sequential_device_with_full_staging_takes_a_whole_in_order_repair_reply_straight_into_its_sink()
    {
        // 256-byte chunks: a staging entry is one sector; 2 sectors = 2 entries, both in use
        using var d = new DeviceHarness(nodeId: 1, configure: c => { c.MaxChunkSize = 256; c.RepairIdleMs = 1500; c.FirstRepairReplies = 64; c.MaxRepairReplies = 64; },
            sequential: true, stagingSize: 2 * 4096);
        d.Members(1, 1, 2, 3);
        var img = Create(V(2, 0, 0), chunks: 12);
        d.Manifest(img);
        d.Original(img, 10);
        d.Original(img, 11); // far ahead: staging is full
        d.PumpAll();
        d.Peer.Clear();
        d.Clock.Advance(1500);
        d.Agent.Tick();
        var rq = Parsed.Repair(Assert.Single(d.Peer.Sends.Where(s => s.Bytes[3] == (byte)MessageType.RepairRequest)).Bytes);
        // not limited by staging room: a peer answers lowest first over one connection, so the replies arrive in order
        Assert.Equal(64, rq.MaxReplies);
        for (int i = 0; i < 10; i++) d.FromPeer(Copy(img, i, sender: 2, flags: DataPacket.FlagRepair));
        d.PumpAll();
        Assert.Equal(0, d.Counters.StagingFullDrops);
        Assert.Equal(img.ChunkCount, d.Agent.HeldCount);
    }

    [Fact]
    public void A_random_offset_device_asks_for_the_configured_replies()
    {
        using var d = new DeviceHarness(nodeId: 1, configure: c => { c.RepairIdleMs = 1500; c.FirstRepairReplies = 64; c.MaxRepairReplies = 64; });
        d.Members(1, 1, 2);
        var img = Create(V(2, 0, 0), chunks: 10);
        d.Manifest(img);
        d.Clock.Advance(1500);
        d.Agent.Tick();
        var rq = Parsed.Repair(Assert.Single(d.Peer.Sends.Where(s => s.Bytes[3] == (byte)MessageType.RepairRequest)).Bytes);
        Assert.Equal(64, rq.MaxReplies);
    }

    [Fact]
    public void After_staging_full_drops_a_peer_repair_completes_the_image_without_the_gateway()
    {
        using var d = new DeviceHarness(nodeId: 1, configure: c => { c.MaxChunkSize = 256; c.RepairIdleMs = 1500; c.RepairRoundMs = 300; },
            sequential: true, stagingSize: 2 * 4096);
        d.Members(1, 1, 2, 3);
        var img = Create(V(2, 0, 0), chunks: 8);
        d.Manifest(img);
        for (int i = 1; i < 8; i++) d.Original(img, i); // 1, 2 staged; 3..7 dropped (staging full)
        d.PumpAll();
        Assert.Equal(5, d.Counters.StagingFullDrops);
        for (int round = 0; round < 10 && d.Agent.HeldCount < img.ChunkCount; round++)
        {
            d.Clock.Advance(1500);
            d.Peer.Clear();
            d.Agent.Tick();
            var rq = Parsed.Repair(Assert.Single(d.Peer.Sends.Where(s => s.Bytes[3] == (byte)MessageType.RepairRequest)).Bytes);
            // the peer answers lowest missing first, as many as asked
            foreach (int i in Enumerable.Range(0, img.ChunkCount).Where(rq.IsMissing).Take(rq.MaxReplies))
                d.FromPeer(Copy(img, i, sender: 2, flags: DataPacket.FlagRepair));
            d.PumpAll();
        }
        Assert.Equal(img.ChunkCount, d.Agent.HeldCount);
        Assert.Equal(0, d.Counters.GatewayRepairRequests);
        Assert.Empty(d.Out(MessageType.RepairRequest));
        Assert.Equal(5, d.Counters.StagingFullDrops); // no reply was dropped
    }
}
