using IotOta.DeviceFirmware.Agent;
using IotOta.DeviceFirmware.Tests.Support;
using IotOta.Shared.Protocol;
using static IotOta.DeviceFirmware.Tests.Support.Images;

namespace IotOta.DeviceFirmware.Tests.Agent;

/// <summary>Silent relays down relay trees (issue #15): a tree relay copy flagged FlagSilentRelays passes the flag on to
/// the tree children its table names and notices (its notice says the children have their copies); a device whose
/// table says it relays the packet to no other group — a table for another tree, or an empty one (its group is a leaf
/// of every tree) — sends no notice but its first; a device without a table cannot tell a leaf from a table on its
/// way, and notices. With FlagSilentTree too the interior relays notice only their first, and any whose forwarding
/// ended late (DeviceConfig.QuietRelayMaxMs).</summary>
public class DeviceAgentSilentTreeTests
{
    private const byte SilentTree = DataPacket.FlagRelay | DataPacket.FlagTree | DataPacket.FlagSilentRelays;

    /// <summary>Group 1's table: tree <paramref name="tree"/> of 2, one child group (10) with one candidate, node 1000;
    /// no children at all when <paramref name="empty"/>.</summary>
    private static byte[] Table(uint imageId, int tree = 1, bool empty = false)
    {
        var t = new RelayTree { ImageId = imageId, GroupId = 1, Epoch = 1, TreeCount = 2, Tree = empty ? 0 : tree, ChildCount = empty ? 0 : 1 };
        t.ChildGroup[0] = 10;
        t.CandidateCount[0] = 1;
        t.CandidateNode[0] = 1000;
        t.CandidateIp[0] = DeviceHarness.Ip;
        t.CandidatePort[0] = DeviceHarness.PortOf(1000);
        return t.ToBytes();
    }

    private static (DeviceHarness d, IotOta.Gateway.Images.FirmwareImage img) Receiving()
    {
        var d = new DeviceHarness(nodeId: 1, groupId: 1);
        d.Members(1, 1, 2);
        var img = Create(V(1, 1, 0));
        d.Manifest(img);
        return (d, img);
    }

    private static void Hold(DeviceHarness d, byte[] table) => d.Agent.OnMqttMessage(Topics.GroupTree(1), table, 0, table.Length);

    private static void Relays(DeviceHarness d, IotOta.Gateway.Images.FirmwareImage img, params int[] packets)
    {
        foreach (int k in packets) d.FromPeer(Copy(img, k, sender: 77, flags: SilentTree));
        d.PumpAll();
    }

    [Fact]
    public void An_interior_relay_passes_the_flag_to_its_children_and_notices()
    {
        var (d, img) = Receiving();
        using var _ = d;
        Hold(d, Table(img.ImageId));
        Relays(d, img, 1, 3); // tree 1 (odd packets): this group's
        var toChild = d.Peer.Sends.Where(s => s.Port == DeviceHarness.PortOf(1000)).ToList();
        Assert.Equal(2, toChild.Count);
        Assert.All(toChild, s => Assert.Equal(SilentTree, Parsed.Data(s.Bytes).Flags));
        Assert.Equal(new[] { 1, 3 }, d.Notices().Select(n => n.Index).Order());
    }

    [Fact]
    public void An_interior_relay_asked_for_silence_too_passes_both_flags_on_and_notices_only_its_first()
    {
        var (d, img) = Receiving();
        using var _ = d;
        Hold(d, Table(img.ImageId));
        const byte quiet = SilentTree | DataPacket.FlagSilentTree;
        foreach (int k in new[] { 1, 3, 5 }) d.FromPeer(Copy(img, k, sender: 77, flags: quiet));
        d.PumpAll();
        var toChild = d.Peer.Sends.Where(s => s.Port == DeviceHarness.PortOf(1000)).ToList();
        Assert.Equal(3, toChild.Count);
        Assert.All(toChild, s => Assert.Equal(quiet, Parsed.Data(s.Bytes).Flags));
        Assert.Equal(1, Assert.Single(d.Notices()).Index); // its first only: the gateway measures its rate from that
    }

    [Fact]
    public void A_silent_interior_relay_whose_forwarding_ended_late_notices_after_all()
    {
        var (d, img) = Receiving();
        using var _ = d;
        Hold(d, Table(img.ImageId));
        const byte quiet = SilentTree | DataPacket.FlagSilentTree;
        Relays(d, img, 1); // its first: notices
        d.FromPeer(Copy(img, 3, sender: 77, flags: quiet));
        d.Clock.Advance(new DeviceConfig().QuietRelayMaxMs + 1); // its forwarding ends longer than that after the copy came
        d.PumpAll();
        d.FromPeer(Copy(img, 5, sender: 77, flags: quiet));
        d.PumpAll(); // on time: silent
        Assert.Equal(new[] { 1, 3 }, d.Notices().Select(n => n.Index).Order());
        Assert.All(d.Notices(), n => Assert.Equal(ReceiptNotice.KindRelay, n.Kind));
    }

    [Fact]
    public void A_leaf_by_its_table_for_another_tree_notices_only_its_first()
    {
        var (d, img) = Receiving();
        using var _ = d;
        Hold(d, Table(img.ImageId));
        Relays(d, img, 0, 2, 4); // tree 0: a leaf here
        Assert.DoesNotContain(d.Peer.Sends, s => s.Port == DeviceHarness.PortOf(1000));
        Assert.Equal(3, d.Peer.Sends.Count); // each to its one group mate
        Assert.Equal(0, Assert.Single(d.Notices()).Index);
    }

    [Fact]
    public void A_leaf_of_every_tree_by_its_empty_table_notices_only_its_first_and_a_cleared_table_makes_it_notice()
    {
        var (d, img) = Receiving();
        using var _ = d;
        byte[] empty = Table(img.ImageId, empty: true);
        Assert.Equal(RelayTree.FixedLength, empty.Length);
        Hold(d, empty);
        Relays(d, img, 0, 1, 2, 3);
        Assert.Equal(0, Assert.Single(d.Notices()).Index);
        Assert.Equal(0, d.Counters.TreeRelaysOwed);
        d.Agent.OnMqttMessage(Topics.GroupTree(1), Array.Empty<byte>(), 0, 0); // taken back: no table now
        Relays(d, img, 4);
        Assert.Equal(new[] { 0, 4 }, d.Notices().Select(n => n.Index).Order());
        Assert.Equal(1, d.Counters.TreeRelaysOwed);
    }

    [Fact]
    public void Without_a_table_every_tree_relay_notices()
    {
        var (d, img) = Receiving();
        using var _ = d;
        Relays(d, img, 0, 1, 2);
        Assert.Equal(new[] { 0, 1, 2 }, d.Notices().Select(n => n.Index).Order());
        Assert.Equal(3, d.Counters.TreeRelaysOwed);
    }
}
