using IotOta.DeviceFirmware.Tests.Support;
using IotOta.Shared.Chunking;
using IotOta.Shared.Protocol;
using static IotOta.DeviceFirmware.Tests.Support.Images;

namespace IotOta.DeviceFirmware.Tests.Agent;

public class DeviceAgentRepairTests
{
    private const int Idle = 1500;
    private const int Round = 300;

    private static List<byte[]> PeerRepairRequests(DeviceHarness d)
        => d.Peer.Sends.Where(s => s.Bytes[3] == (byte)MessageType.RepairRequest).Select(s => s.Bytes).ToList();

    [Fact]
    public void Idle_download_asks_up_to_three_peers_then_the_gateway()
    {
        using var d = new DeviceHarness(nodeId: 1, configure: c => { c.RepairIdleMs = Idle; c.RepairRoundMs = Round; c.FirstRepairReplies = 16; c.MaxRepairReplies = 16; });
        d.Members(1, 1, 2, 3, 4, 5);
        var img = Create(V(1, 1, 0));
        d.Manifest(img);
        d.Original(img, 0);
        d.Original(img, 3);
        d.PumpAll();
        d.Peer.Clear();

        d.Clock.Advance(Idle - 1);
        d.Agent.Tick();
        Assert.Empty(PeerRepairRequests(d));

        d.Clock.Advance(1);
        d.Agent.Tick();
        var first = Assert.Single(d.Peer.Sends);
        var rq = Parsed.Repair(first.Bytes);
        Assert.Equal(1u, rq.NodeId);
        Assert.Equal(img.ImageId, rq.ImageId);
        Assert.Equal(img.ChunkCount, rq.ChunkCount);
        Assert.Equal(16, rq.MaxReplies);
        Assert.Equal(Enumerable.Range(0, img.ChunkCount).Where(i => i != 0 && i != 3), Enumerable.Range(0, img.ChunkCount).Where(rq.IsMissing));

        d.Clock.Advance(Round - 1);
        d.Agent.Tick();
        Assert.Single(PeerRepairRequests(d)); // not before a round has passed
        d.Clock.Advance(1);
        d.Agent.Tick();
        d.Clock.Advance(Round);
        d.Agent.Tick();

        var peerRequests = d.Peer.Sends.Where(s => s.Bytes[3] == (byte)MessageType.RepairRequest).ToList();
        Assert.Equal(3, peerRequests.Count);
        Assert.Equal(3, peerRequests.Select(s => s.Port).Distinct().Count());
        Assert.DoesNotContain(peerRequests, s => s.Port == DeviceHarness.PortOf(1));
        Assert.Empty(d.Out(MessageType.RepairRequest));

        d.Clock.Advance(Round);
        d.Agent.Tick();
        Assert.Equal(3, PeerRepairRequests(d).Count);
        var toGateway = Assert.Single(d.Out(MessageType.RepairRequest));
        Assert.Equal(8, Enumerable.Range(0, img.ChunkCount).Count(Parsed.Repair(toGateway).IsMissing));
        Assert.Equal(3, d.Counters.RepairRequestsSent);
        Assert.Equal(1, d.Counters.GatewayRepairRequests);
    }

    /// <summary>A device with 4 peers that got packet 0 and then nothing, asked 3 peers and then the gateway.</summary>
    private static (DeviceHarness d, IotOta.Gateway.Images.FirmwareImage img) StalledUntilTheGatewayWasAsked()
    {
        var d = new DeviceHarness(nodeId: 1, configure: c => { c.RepairIdleMs = Idle; c.RepairRoundMs = Round; });
        d.Members(1, 1, 2, 3, 4, 5);
        var img = Create(V(1, 1, 0));
        d.Manifest(img);
        d.Original(img, 0);
        d.PumpAll();
        d.Peer.Clear();
        d.Clock.Advance(Idle);
        d.Agent.Tick();
        for (int i = 0; i < 3; i++)
        {
            d.Clock.Advance(Round);
            d.Agent.Tick();
        }
        Assert.Equal(3, PeerRepairRequests(d).Count);
        Assert.Single(d.Out(MessageType.RepairRequest));
        return (d, img);
    }

    [Fact]
    public void Each_gateway_ask_that_brings_nothing_doubles_the_round_up_to_eight_times()
    {
        var (d, _) = StalledUntilTheGatewayWasAsked();
        using var _d = d;
        int[] rounds = [2 * Round, 4 * Round, 8 * Round, 8 * Round];
        for (int g = 0; g < rounds.Length; g++)
        {
            for (int ask = 0; ask < 4; ask++) // three peers, then the gateway, each one round apart
            {
                int peers = PeerRepairRequests(d).Count, gateway = d.Out(MessageType.RepairRequest).Count;
                d.Clock.Advance(rounds[g] - 1);
                d.Agent.Tick();
                Assert.Equal(peers, PeerRepairRequests(d).Count);
                Assert.Equal(gateway, d.Out(MessageType.RepairRequest).Count);
                d.Clock.Advance(1);
                d.Agent.Tick();
                Assert.Equal(ask < 3 ? peers + 1 : peers, PeerRepairRequests(d).Count);
                Assert.Equal(ask < 3 ? gateway : gateway + 1, d.Out(MessageType.RepairRequest).Count);
            }
        }
        Assert.Equal(5, d.Counters.GatewayRepairRequests);
    }

    [Fact]
    public void Packets_trickling_in_after_a_gateway_ask_send_the_device_back_to_its_peers_not_to_the_gateway()
    {
        var (d, img) = StalledUntilTheGatewayWasAsked();
        using var _d = d;
        for (int i = 1; i <= 4; i++)
        {
            d.Original(img, i);
            d.PumpAll();
            d.Clock.Advance(2 * Round);
            d.Agent.Tick();
        }
        Assert.Equal(3 + 4, PeerRepairRequests(d).Count);
        Assert.Single(d.Out(MessageType.RepairRequest)); // asking again every round was 4 more
        // Then nothing comes again: three fruitless peer rounds at the first round length, then the gateway.
        for (int i = 0; i < 3; i++)
        {
            d.Clock.Advance(Round);
            d.Agent.Tick();
        }
        Assert.Equal(3 + 4 + 2, PeerRepairRequests(d).Count);
        Assert.Equal(2, d.Out(MessageType.RepairRequest).Count);
    }

    [Fact]
    public void Without_peers_the_gateway_is_asked()
    {
        using var d = new DeviceHarness(nodeId: 1, configure: c => { c.RepairIdleMs = Idle; c.RepairRoundMs = Round; });
        d.Members(1, 1);
        var img = Create(V(1, 1, 0));
        d.Manifest(img);
        d.Clock.Advance(Idle);
        d.Agent.Tick();
        Assert.Empty(d.Peer.Sends);
        var rq = Parsed.Repair(Assert.Single(d.Out(MessageType.RepairRequest)));
        Assert.Equal(img.ChunkCount, Enumerable.Range(0, img.ChunkCount).Count(rq.IsMissing));
    }

    [Fact]
    public void New_packets_postpone_repair()
    {
        using var d = new DeviceHarness(nodeId: 1, configure: c => { c.RepairIdleMs = Idle; c.RepairRoundMs = Round; });
        d.Members(1, 1, 2);
        var img = Create(V(1, 1, 0));
        d.Manifest(img);
        for (int i = 0; i < 5; i++)
        {
            d.Clock.Advance(Idle - 100);
            d.Original(img, i);
            d.Agent.Tick();
        }
        d.PumpAll();
        Assert.Empty(PeerRepairRequests(d));
        Assert.Empty(d.Out(MessageType.RepairRequest));
    }

    [Fact]
    public void No_repair_when_idle_or_complete()
    {
        using var d = new DeviceHarness(nodeId: 1);
        d.Members(1, 1, 2);
        d.Clock.Advance(100_000);
        d.Agent.Tick();
        Assert.Empty(d.Peer.Sends);
        Assert.Empty(d.Out(MessageType.RepairRequest));
    }

    /// <summary>A repair request; with <paramref name="targetPort"/> &gt; 0 a donor order with the target tail (the
    /// requester at DeviceHarness.Ip:targetPort, in <paramref name="mode"/>).</summary>
    internal static byte[] Request(uint from, IotOta.Gateway.Images.FirmwareImage img, int maxReplies, IEnumerable<int> missing,
        int targetPort = 0, byte mode = RepairRequest.ModeRepair)
    {
        var bits = new PacketBitmap(img.ChunkCount);
        for (int i = 0; i < img.ChunkCount; i++) if (!missing.Contains(i)) bits.Set(i);
        var miss = new byte[PacketBitmap.ByteLength(img.ChunkCount)];
        bits.WriteMissing(miss, 0);
        var rq = new RepairRequest
        {
            NodeId = from, ImageId = img.ImageId, ChunkCount = img.ChunkCount, MaxReplies = maxReplies, MissingBuffer = miss,
            HasTarget = targetPort > 0, TargetIp = DeviceHarness.Ip, TargetPort = targetPort, TargetMode = mode,
        };
        var b = new byte[RepairRequest.EncodedLength(img.ChunkCount, rq.HasTarget)];
        Assert.Equal(b.Length, rq.Encode(b, 0));
        return b;
    }

    /// <summary>Device 2 in a group of <paramref name="members"/>, holding every packet of a new image.</summary>
    internal static DeviceHarness HoldingAll(out IotOta.Gateway.Images.FirmwareImage img, params uint[] members)
    {
        var d = Receiving(out img, members);
        for (int i = 0; i < img.ChunkCount; i++) d.FromPeer(Copy(img, i, sender: 3));
        return d;
    }

    /// <summary>Device 2 in a group of <paramref name="members"/>, with the manifest of a new image and no packet yet.</summary>
    internal static DeviceHarness Receiving(out IotOta.Gateway.Images.FirmwareImage img, params uint[] members)
    {
        var d = new DeviceHarness(nodeId: 2);
        d.Members(1, members);
        img = Create(V(1, 1, 0));
        d.Manifest(img);
        return d;
    }

    [Fact]
    public void Request_from_a_member_is_answered_with_held_packets_up_to_max_replies()
    {
        using var d = Receiving(out var img, 1, 2, 3);
        foreach (int i in new[] { 1, 2, 4, 5, 6, 7 }) d.FromPeer(Copy(img, i, sender: 3));

        d.FromPeer(Request(1, img, maxReplies: 4, missing: Enumerable.Range(0, img.ChunkCount)));
        d.PumpAll();

        var replies = d.Peer.Sends;
        Assert.Equal(4, replies.Count);
        Assert.All(replies, s => Assert.Equal(DeviceHarness.AddressOf(1), s.Address));
        Assert.Equal(new[] { 1, 2, 4, 5 }, replies.Select(s => Parsed.Data(s.Bytes).Index));
        Assert.All(replies, s =>
        {
            var p = Parsed.Data(s.Bytes);
            Assert.Equal(MessageType.Copy, p.Type);
            Assert.Equal(DataPacket.FlagRepair, p.Flags);
            Assert.Equal(2u, p.SenderNode);
            Assert.Equal(Chunk(img, p.Index), Parsed.Payload(s.Bytes));
        });
        Assert.Empty(d.Notices());
        Assert.Equal(4, d.Counters.RepairRepliesSent);
    }

    [Fact]
    public void A_member_with_copies_still_queued_declines_a_peer_request_and_answers_once_its_queue_is_empty()
    {
        using var d = Receiving(out var img, 1, 2, 3);
        foreach (int i in new[] { 1, 2 }) d.FromPeer(Copy(img, i, sender: 3));
        d.Original(img, 4); // its own minimum unit: copies to 1 and 3 queued, not sent yet
        d.Peer.Clear();

        d.FromPeer(Request(1, img, maxReplies: 4, missing: Enumerable.Range(0, img.ChunkCount)));
        Assert.Equal(1, d.Counters.RepairsDeclinedBusy);
        d.PumpAll();
        Assert.DoesNotContain(d.Peer.Sends, s => Parsed.Data(s.Bytes).Flags == DataPacket.FlagRepair);

        d.FromPeer(Request(1, img, maxReplies: 4, missing: Enumerable.Range(0, img.ChunkCount)));
        d.PumpAll();
        Assert.Equal(new[] { 1, 2, 4 }, d.Peer.Sends.Where(s => Parsed.Data(s.Bytes).Flags == DataPacket.FlagRepair).Select(s => Parsed.Data(s.Bytes).Index));
        Assert.Equal(1, d.Counters.RepairsDeclinedBusy);
    }

    [Fact]
    public void Only_packets_the_requester_misses_are_sent()
    {
        using var d = HoldingAll(out var img, 1, 2);
        d.FromPeer(Request(1, img, maxReplies: 64, missing: new[] { 3, 9 }));
        d.PumpAll();
        Assert.Equal(new[] { 3, 9 }, d.Peer.Sends.Select(s => Parsed.Data(s.Bytes).Index));
    }

    [Fact]
    public void Requests_from_non_members_self_or_another_image_are_ignored()
    {
        using var d = HoldingAll(out var img, 1, 2, 3);
        var all = Enumerable.Range(0, img.ChunkCount).ToArray();

        d.FromPeer(Request(99, img, 8, all));
        d.FromPeer(Request(2, img, 8, all));
        d.FromPeer(Request(1, Create(V(1, 1, 0), seed: 50), 8, all));
        d.PumpAll();
        Assert.Empty(d.Peer.Sends);
        Assert.Equal(0, d.Counters.MessagesRejected);
    }
}
