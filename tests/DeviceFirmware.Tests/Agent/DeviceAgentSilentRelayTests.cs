using IotOta.DeviceFirmware.Tests.Support;
using IotOta.Shared.Protocol;
using static IotOta.DeviceFirmware.Tests.Support.Images;

namespace IotOta.DeviceFirmware.Tests.Agent;

/// <summary>A relay copy flagged FlagSilentRelays (its original asked for it) passes the packet to its group only and
/// sends no receipt notice (issue #15: its root's notice stands for it at the gateway), except as the device's first
/// minimum unit of an image (the gateway measures its rate from that) or as the answer to a repair request; without
/// the flag (a gateway that predates it) every relay notices. A notice's receive time is when the device began the
/// job.</summary>
public class DeviceAgentSilentRelayTests
{
    private const byte Silent = DataPacket.FlagRelay | DataPacket.FlagSilentRelays;

    private static (DeviceHarness d, IotOta.Gateway.Images.FirmwareImage img) Receiving()
    {
        var d = new DeviceHarness(nodeId: 1, groupId: 1);
        d.Members(1, 1, 2, 3);
        var img = Create(V(1, 1, 0));
        d.Manifest(img);
        return (d, img);
    }

    [Fact]
    public void Only_the_first_relay_of_an_image_notices_and_every_relay_still_reaches_the_group()
    {
        var (d, img) = Receiving();
        using var _ = d;
        for (int i = 0; i < 4; i++) d.FromPeer(Copy(img, i, sender: 77, flags: Silent));
        d.PumpAll();
        Assert.Equal(4 * 2, d.Peer.Sends.Count); // each to both group mates
        var n = Assert.Single(d.Notices());
        Assert.Equal(0, n.Index);
        Assert.Equal(ReceiptNotice.KindRelay, n.Kind);
        Assert.Equal(1, d.Counters.NoticesSent);
    }

    [Fact]
    public void Originals_and_repair_relays_still_notice()
    {
        var (d, img) = Receiving();
        using var _ = d;
        d.Original(img, 0);
        d.FromPeer(Copy(img, 1, sender: 77, flags: Silent));                                  // silent
        d.FromPeer(Copy(img, 2, sender: 77, flags: Silent | DataPacket.FlagRepair));          // a repair answer
        d.Original(img, 3);
        d.PumpAll();
        Assert.Equal(new[] { 0, 2, 3 }, d.Notices().Select(x => x.Index).Order());
    }

    [Fact]
    public void Without_the_flag_every_relay_notices()
    {
        var (d, img) = Receiving();
        using var _ = d;
        for (int i = 0; i < 3; i++) d.FromPeer(Copy(img, i, sender: 77, flags: DataPacket.FlagRelay));
        d.PumpAll();
        Assert.Equal(new[] { 0, 1, 2 }, d.Notices().Select(x => x.Index).Order());
    }

    [Fact]
    public void An_original_passes_the_flag_on_to_its_relays_only()
    {
        var (d, img) = Receiving();
        using var _ = d;
        d.Mqtt_(new IotOta.Gateway.Images.Packetizer(img).Original(0, [DeviceHarness.Member(50)], silentRelays: true));
        d.PumpAll();
        var sends = d.Peer.Sends;
        Assert.Equal(3, sends.Count);
        Assert.Equal(Silent, Parsed.Data(sends.Single(s => s.Port == DeviceHarness.PortOf(50)).Bytes).Flags);
        Assert.All(sends.Where(s => s.Port != DeviceHarness.PortOf(50)), s => Assert.Equal(0, Parsed.Data(s.Bytes).Flags & DataPacket.FlagSilentRelays));
        Assert.Single(d.Notices()); // the original's own
    }

    [Fact]
    public void A_notice_says_when_the_device_began_the_job_not_when_it_queued()
    {
        // Two originals arrive together; the second waits while the first is forwarded (3 ms per copy here). Its
        // notice's receive time is when its own forwarding began, so the gateway's busy time for it leaves out the
        // wait (jobs that send no notice took that time).
        var (d, img) = Receiving();
        using var _ = d;
        d.Peer.AfterSend = () => d.Clock.Advance(3);
        d.Clock.Advance(5);
        long arrived = d.Clock.NowMs;
        d.Original(img, 0);
        d.Original(img, 1);
        d.PumpAll();
        var notices = d.Notices().OrderBy(x => x.Index).ToList();
        Assert.Equal(2, notices.Count);
        Assert.Equal(arrived, notices[0].ReceiveTimeMs);
        Assert.Equal(arrived + 6, notices[0].ForwardedTimeMs);
        Assert.Equal(notices[0].ForwardedTimeMs, notices[1].ReceiveTimeMs);
        Assert.Equal(arrived + 12, notices[1].ForwardedTimeMs);
    }
}
