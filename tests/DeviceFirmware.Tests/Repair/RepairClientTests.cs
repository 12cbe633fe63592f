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
