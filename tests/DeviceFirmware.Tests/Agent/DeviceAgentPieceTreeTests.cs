using IotOta.DeviceFirmware.Tests.Support;
using IotOta.Gateway.Fleet;
using IotOta.Gateway.Images;
using IotOta.Shared.Protocol;
using static IotOta.DeviceFirmware.Tests.Support.Images;

namespace IotOta.DeviceFirmware.Tests.Agent;

/// <summary>Issue #15: hash-list pieces down the relay trees, as data packets go. An original flagged FlagTree names the
/// root's children (level 1); their relay copies carry FlagTree, and a device that gets one passes the piece to the tree
/// children its table names for the piece (piece p: tree p mod T, candidate p mod n), the signed root just ahead of it;
/// a piece that comes before the table is owed until the table does.</summary>
public class DeviceAgentPieceTreeTests
{
    private const byte TreeRelay = DataPacket.FlagRelay | DataPacket.FlagTree;

    /// <summary>Group 1's table: tree 1 of 2, one child group (10) with two candidates, nodes 1000 and 1001.</summary>
    private static byte[] Table(uint imageId)
    {
        var t = new RelayTree { ImageId = imageId, GroupId = 1, Epoch = 1, TreeCount = 2, Tree = 1, ChildCount = 1 };
        t.ChildGroup[0] = 10;
        t.CandidateCount[0] = 2;
        for (int j = 0; j < 2; j++)
        {
            t.CandidateNode[j] = 1000u + (uint)j;
            t.CandidateIp[j] = DeviceHarness.Ip;
            t.CandidatePort[j] = DeviceHarness.PortOf(1000u + (uint)j);
        }
        return t.ToBytes();
    }

    private static (DeviceHarness d, ImageRootSet set) WithRoot()
    {
        var d = new DeviceHarness(nodeId: 1, groupId: 1);
        d.Members(1, 1, 2, 3);
        var img = Create(V(1, 1, 0), chunks: 16);
        var set = ImageRootSet.Create(img, TestKeys.Trusted, 4);
        d.Agent.OnMqttMessage(Topics.GroupRoot(1), set.RootBytes, 0, set.RootBytes.Length);
        return (d, set);
    }

    private static List<(int Port, MessageType Type, int Index, byte Flags)> ToChildren(DeviceHarness d) => d.Peer.Sends
        .Where(s => s.Port >= DeviceHarness.PortOf(1000))
        .Select(s =>
        {
            var t = WireHeader.Peek(s.Bytes, 0, s.Bytes.Length);
            if (t != MessageType.Copy) return (s.Port, t, -1, (byte)0);
            var p = Parsed.Data(s.Bytes);
            return (s.Port, t, p.Index, p.Flags);
        }).ToList();

    [Fact]
    public void A_piece_down_a_relay_tree_goes_to_the_candidate_the_table_names_for_it_with_the_root_ahead()
    {
        var (d, set) = WithRoot();
        using var _ = d;
        Assert.Equal(4, set.PieceCount);
        d.Agent.OnMqttMessage(Topics.GroupTree(1), Table(set.ImageId), 0, Table(set.ImageId).Length);
        for (int p = 0; p < set.PieceCount; p++) d.FromPeer(PiecePacket(set, p, MessageType.Copy, TreeRelay, 77));
        d.PumpAll();
        // tree 1 holds the odd pieces: piece 1 to candidate 1 mod 2 = node 1001, piece 3 to candidate 3 mod 2 = 1001
        byte flags = DataPacket.FlagRelay | DataPacket.FlagTree | DataPacket.FlagHashPiece;
        Assert.Equal(new[]
        {
            (DeviceHarness.PortOf(1001), MessageType.ImageRoot, -1, (byte)0), (DeviceHarness.PortOf(1001), MessageType.Copy, 1, flags),
            (DeviceHarness.PortOf(1001), MessageType.ImageRoot, -1, (byte)0), (DeviceHarness.PortOf(1001), MessageType.Copy, 3, flags),
        }, ToChildren(d));
        Assert.Equal(4, d.Counters.HashPiecesTaken);
    }

    [Fact]
    public void An_original_flagged_as_a_tree_packet_passes_the_flag_to_the_relays_it_names()
    {
        var (d, set) = WithRoot();
        using var _ = d;
        d.Mqtt_(PiecePacket(set, 0, MessageType.Original, DataPacket.FlagTree, 0, DeviceHarness.Member(50), DeviceHarness.Member(51)));
        d.PumpAll();
        var relayed = d.Peer.Sends.Where(s => s.Port is var port && (port == DeviceHarness.PortOf(50) || port == DeviceHarness.PortOf(51))
            && WireHeader.Peek(s.Bytes, 0, s.Bytes.Length) == MessageType.Copy).Select(s => Parsed.Data(s.Bytes).Flags).ToList();
        Assert.Equal(2, relayed.Count);
        Assert.All(relayed, f => Assert.Equal(DataPacket.FlagRelay | DataPacket.FlagTree | DataPacket.FlagHashPiece, f));
    }

    [Fact]
    public void A_piece_that_comes_down_the_tree_before_the_table_is_owed_and_goes_on_when_the_table_comes()
    {
        var (d, set) = WithRoot();
        using var _ = d;
        d.FromPeer(PiecePacket(set, 1, MessageType.Copy, TreeRelay, 77));
        d.FromPeer(PiecePacket(set, 2, MessageType.Copy, TreeRelay, 77));
        d.PumpAll();
        Assert.Empty(ToChildren(d));
        byte[] table = Table(set.ImageId);
        d.Agent.OnMqttMessage(Topics.GroupTree(1), table, 0, table.Length);
        d.PumpAll();
        // piece 1 is this group's tree's (odd); piece 2 is not, and its owed mark just goes
        Assert.Equal(new[] { 1 }, ToChildren(d).Where(c => c.Type == MessageType.Copy).Select(c => c.Index));
        d.PumpAll();
        Assert.Single(ToChildren(d), c => c.Type == MessageType.Copy);
    }
}
