using IotOta.DeviceFirmware.Tests.Fakes;
using IotOta.DeviceFirmware.Tests.Support;
using IotOta.Shared.Protocol;
using static IotOta.DeviceFirmware.Tests.Agent.DeviceAgentRepairTests;
using static IotOta.DeviceFirmware.Tests.Support.Images;

namespace IotOta.DeviceFirmware.Tests.Agent;

/// <summary>Donor orders that name a device of another group by its peer endpoint (RepairRequest target tail): the
/// gateway has a packet sent into a group that holds it nowhere, from a device of another group that does.</summary>
public class DeviceAgentCrossGroupOrderTests
{
    [Fact]
    public void Gateway_order_naming_a_device_of_another_group_is_served_at_its_endpoint_as_relay_copies()
    {
        using var d = HoldingAll(out var img, 1, 2, 3); // device 40 is in no list this device knows
        d.Mqtt_(Request(40, img, 8, new[] { 2, 5 }, DeviceHarness.PortOf(40), RepairRequest.ModeRelay));
        d.PumpAll();

        var sends = d.Peer.Sends;
        Assert.Equal(new[] { 2, 5 }, sends.Select(s => Parsed.Data(s.Bytes).Index));
        Assert.All(sends, s =>
        {
            Assert.Equal(DeviceHarness.AddressOf(40), s.Address);
            var p = Parsed.Data(s.Bytes);
            Assert.Equal(MessageType.Copy, p.Type);
            Assert.Equal(DataPacket.FlagRepair | DataPacket.FlagRelay, p.Flags);
            Assert.True(p.IsRelay); // the receiver acts as its group's minimum unit and copies on
            Assert.Equal(2u, p.SenderNode);
            Assert.Equal(Chunk(img, p.Index), Parsed.Payload(s.Bytes));
        });
        Assert.Equal(1, d.Counters.DonorOrders);
    }

    [Fact]
    public void Repair_mode_order_sends_plain_repair_copies()
    {
        using var d = HoldingAll(out var img, 1, 2);
        d.Mqtt_(Request(41, img, 8, new[] { 0 }, 31000, RepairRequest.ModeRepair));
        d.PumpAll();
        var s = Assert.Single(d.Peer.Sends);
        Assert.Equal(FakePeerPort.Key(DeviceHarness.Ip, 31000), s.Address);
        Assert.Equal(DataPacket.FlagRepair, Parsed.Data(s.Bytes).Flags);
    }

    [Fact]
    public void A_peer_cannot_direct_copies_outside_the_group()
    {
        using var d = HoldingAll(out var img, 1, 2, 3);
        // even naming a member: the target tail is the gateway's alone
        d.FromPeer(Request(1, img, 8, new[] { 1 }, 31000, RepairRequest.ModeRelay));
        d.PumpAll();
        Assert.Empty(d.Peer.Sends);
        Assert.Equal(1, d.Counters.MessagesRejected);
    }

    [Fact]
    public void A_device_of_another_group_gets_nothing_without_the_target_tail()
    {
        using var d = HoldingAll(out var img, 1, 2, 3);
        d.Mqtt_(Request(40, img, 8, new[] { 1 }));
        d.PumpAll();
        Assert.Empty(d.Peer.Sends);
    }

    [Fact]
    public void A_relay_copy_from_a_donor_of_another_group_is_copied_on_to_the_members()
    {
        using var d = Receiving(out var img, 1, 2, 3);
        // what the ordered donor (node 40, another group) sends: a relay repair copy
        d.FromPeer(Copy(img, 4, sender: 40, flags: DataPacket.FlagRelay | DataPacket.FlagRepair));
        d.PumpAll();
        var to = d.Peer.Sends.Where(s => Parsed.Data(s.Bytes).Index == 4).Select(s => s.Address).OrderBy(a => a).ToList();
        Assert.Equal(new[] { DeviceHarness.AddressOf(1), DeviceHarness.AddressOf(3) }.OrderBy(a => a), to);
    }
}
