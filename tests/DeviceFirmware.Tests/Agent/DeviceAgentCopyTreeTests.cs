using IotOta.DeviceFirmware.Tests.Support;
using IotOta.Gateway.Images;
using IotOta.Shared.Protocol;
using static IotOta.DeviceFirmware.Tests.Support.Images;

namespace IotOta.DeviceFirmware.Tests.Agent;

/// <summary>Copy trees inside a group on the device, through its forward queue: a minimum unit makes the device the
/// root (span count − 1), a span copy is passed on for the span it carried, split over at most fan-out children.</summary>
public class DeviceAgentCopyTreeTests
{
    private static byte[] SpanCopy(FirmwareImage image, int index, uint sender, int span)
    {
        Manifest m = image.Manifest;
        int len = m.ChunkLength(index);
        var buf = new byte[DataPacket.EncodedLength(0, len) + DataPacket.SpanLength];
        var w = new WireWriter(buf);
        int at = DataPacket.WriteHeader(w, MessageType.Copy, m.ImageId, index, DataPacket.FlagSpan, sender, 0, null, null, null, len, span);
        Array.Copy(image.Bytes, m.ChunkOffset(index), buf, at, len);
        return buf;
    }

    [Fact]
    public void Queued_span_copies_are_passed_on_for_the_span_they_carried()
    {
        // Node 10 at list position 0 of 10 members, fan-out 2. Two span copies queue before the pump runs: spans 8
        // and 3 (a queued job must keep its span; a span lost in the queue stops the tree at this device).
        using var d = new DeviceHarness(nodeId: 10, groupId: 1);
        d.TreeMembers(2, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19);
        var img = Create(V(1, 1, 0));
        d.Manifest(img);
        d.FromPeer(SpanCopy(img, 0, sender: 19, span: 8));
        d.FromPeer(SpanCopy(img, 1, sender: 19, span: 3));
        d.PumpAll();
        var sends = d.Peer.Sends.Select(s => (s.Address, Packet: Parsed.Data(s.Bytes))).ToList();
        // span 8 → parts of 4 and 4: children 11 (span 3) and 15 (span 3); span 3 → parts 2 and 1: 11 (span 1), 13 (span 0)
        Assert.Equal(new[] { DeviceHarness.AddressOf(11), DeviceHarness.AddressOf(15), DeviceHarness.AddressOf(11), DeviceHarness.AddressOf(13) },
            sends.Select(s => s.Address));
        Assert.Equal(new[] { 3, 3, 1, 0 }, sends.Select(s => s.Packet.Span));
        Assert.Equal(new[] { 0, 0, 1, 1 }, sends.Select(s => s.Packet.Index));
        Assert.All(sends, s => Assert.True(s.Packet.IsSpan));
        Assert.Empty(d.Notices()); // only a minimum unit's root notices
    }

    [Fact]
    public void A_minimum_unit_makes_the_device_the_root_of_its_groups_tree_and_it_notices_its_own_copies()
    {
        using var d = new DeviceHarness(nodeId: 12, groupId: 1);
        d.TreeMembers(2, 10, 11, 12, 13, 14, 15, 16);
        var img = Create(V(1, 1, 0));
        d.Manifest(img);
        d.Original(img, 0);
        d.PumpAll();
        var sends = d.Peer.Sends.Select(s => (s.Address, Packet: Parsed.Data(s.Bytes))).ToList();
        // position 2 of 7, span 6 → parts of 3: children 13 (positions 3..5, span 2) and 16 (positions 6, 0, 1, span 2)
        Assert.Equal(new[] { DeviceHarness.AddressOf(13), DeviceHarness.AddressOf(16) }, sends.Select(s => s.Address));
        Assert.Equal(new[] { 2, 2 }, sends.Select(s => s.Packet.Span));
        Assert.Equal(2, Assert.Single(d.Notices()).CopiesSent);
    }
}
