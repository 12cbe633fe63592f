using IotOta.DeviceFirmware.Agent;
using IotOta.DeviceFirmware.Copies;
using IotOta.DeviceFirmware.Receive;
using IotOta.DeviceFirmware.Repair;
using IotOta.DeviceFirmware.Tests.Fakes;
using IotOta.Shared.Chunking;
using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Tests.Repair;

/// <summary>When to ask for gaps and whom: up to three peers in turn, then the gateway, skipping quarantined peers.</summary>
public class RepairClientTests
{
    private readonly DeviceConfig _cfg = new() { NodeId = 1, GroupId = 5, RepairIdleMs = 1000, RepairRoundMs = 100 };
    private readonly DeviceCounters _counters = new();
    private readonly MemberList _members = new(16);
    private readonly PeerQuarantine _quarantine;
    private readonly Manifest _m = new() { ImageId = 9, ChunkCount = 20 };
    private readonly PacketBitmap _held = new(20);

    public RepairClientTests()
    {
        _quarantine = new PeerQuarantine(1, _counters, new DeviceLog(new RecordingLog(), 1));
        var u = new MemberListUpdate { GroupId = 5, Epoch = 1, Count = 5 };
        u.EnsureCapacity(5);
        for (int i = 0; i < 5; i++)
        {
            u.NodeIds[i] = (uint)(i + 1);
            u.Ips[i] = (uint)(100 + i + 1);
            u.Ports[i] = 1000 + i + 1;
        }
        _members.Apply(u, 5);
        _held.Set(0);
    }

    [Fact]
    public void Waits_for_the_idle_time_then_asks_three_peers_then_the_gateway()
    {
        var c = new RepairClient(_cfg, _members, _quarantine, _counters);
        c.Begin(20);
        Assert.Equal(RepairClient.None, c.Due(1500, _m, _held, 1000)); // 500 ms without a packet: not yet
        var to = new List<string>();
        long now = 2000;
        for (int round = 0; round < 8; round++)
        {
            int r = c.Due(now, _m, _held, 1000);
            Assert.NotEqual(RepairClient.None, r);
            to.Add(r == RepairClient.ToGateway ? "gw" : c.PeerPort.ToString());
            long next = to.Contains("gw") ? 200 : 100; // a gateway ask that brought nothing doubles the round
            Assert.Equal(RepairClient.None, c.Due(now + next - 1, _m, _held, 1000));
            now += next;
        }
        // nothing new arrives: each round asks the next source; peers never include this device (node 1)
        Assert.Equal(new[] { "1003", "1004", "1005", "gw", "1003", "1004", "1005", "gw" }, to);
        Assert.Equal(6, _counters.RepairRequestsSent);
        Assert.Equal(2, _counters.GatewayRepairRequests);
        var rq = new RepairRequest();
        rq.Parse(c.Buffer, 0, c.Length);
        Assert.Equal(1u, rq.NodeId);
        Assert.Equal(9u, rq.ImageId);
        Assert.False(rq.IsMissing(0));
        Assert.True(rq.IsMissing(19));
    }

    private int Asked(RepairClient c)
    {
        var rq = new RepairRequest();
        rq.Parse(c.Buffer, 0, c.Length);
        return rq.MaxReplies;
    }

    [Theory]
    [InlineData(64, new[] { 4, 8, 16 })]
    [InlineData(8, new[] { 4, 8, 8 })]
    public void A_request_asks_for_few_replies_and_each_one_answered_in_full_doubles_the_next_up_to_the_maximum(int max, int[] expected)
    {
        var cfg = new DeviceConfig { NodeId = 1, GroupId = 5, RepairIdleMs = 1000, RepairRoundMs = 100, FirstRepairReplies = 4, MaxRepairReplies = max };
        var c = new RepairClient(cfg, _members, _quarantine, _counters);
        c.Begin(20);
        long now = 2000;
        Assert.Equal(RepairClient.ToPeer, c.Due(now, _m, _held, 1000));
        var asked = new List<int> { Asked(c) };
        int next = 1;
        while (asked.Count < expected.Length)
        {
            for (int i = 0; i < asked[^1]; i++) _held.Set(next++); // the peer sent everything it was asked for
            now += 1000;
            Assert.Equal(RepairClient.ToPeer, c.Due(now, _m, _held, now - 500));
            asked.Add(Asked(c));
        }
        Assert.Equal(expected, asked);
    }

    [Fact]
    public void A_request_answered_by_less_than_half_goes_back_to_the_first_size_and_a_resumed_device_asks_for_the_most()
    {
        var cfg = new DeviceConfig { NodeId = 1, GroupId = 5, RepairIdleMs = 1000, RepairRoundMs = 100, FirstRepairReplies = 4, MaxRepairReplies = 64 };
        var c = new RepairClient(cfg, _members, _quarantine, _counters);
        c.Begin(20);
        Assert.Equal(RepairClient.ToPeer, c.Due(2000, _m, _held, 1000));
        for (int i = 1; i <= 4; i++) _held.Set(i);
        Assert.Equal(RepairClient.ToPeer, c.Due(3000, _m, _held, 2500));
        Assert.Equal(8, Asked(c));
        _held.Set(5); // 1 of 8: the rest is still on its way, or nowhere
        Assert.Equal(RepairClient.ToPeer, c.Due(4000, _m, _held, 3500));
        Assert.Equal(4, Asked(c));

        var resumed = new RepairClient(cfg, _members, _quarantine, _counters);
        resumed.Begin(20);
        resumed.Resumed();
        Assert.Equal(RepairClient.ToGateway, resumed.Due(2000, _m, _held, 1000));
        Assert.Equal(64, Asked(resumed));
    }

    [Fact]
    public void A_packet_after_a_gateway_ask_ends_the_back_off_before_the_next_round()
    {
        var c = new RepairClient(_cfg, _members, _quarantine, _counters);
        c.Begin(20);
        long now = 2000;
        for (int i = 0; i < 4; i++, now += 100) Assert.NotEqual(RepairClient.None, c.Due(now, _m, _held, 1000));
        Assert.Equal(1, _counters.GatewayRepairRequests); // the 4th: the round is now 200 ms
        _held.Set(1);
        long packetAt = now; // a packet comes 100 ms after the gateway ask
        Assert.Equal(RepairClient.None, c.Due(packetAt, _m, _held, packetAt));
        Assert.Equal(RepairClient.None, c.Due(packetAt + 99, _m, _held, packetAt));
        Assert.Equal(RepairClient.ToPeer, c.Due(packetAt + 100, _m, _held, packetAt)); // not 200 ms
    }

    [Fact]
    public void Quarantined_peers_are_never_asked()
    {
        _quarantine.Strike(PeerQuarantine.Sender, 3);
        _quarantine.Strike(PeerQuarantine.Sender, 4);
        _quarantine.Strike(PeerQuarantine.Sender, 5);
        _quarantine.Strike(PeerQuarantine.Sender, 2);
        var c = new RepairClient(_cfg, _members, _quarantine, _counters);
        c.Begin(20);
        Assert.Equal(RepairClient.ToGateway, c.Due(5000, _m, _held, 0));
    }
}
