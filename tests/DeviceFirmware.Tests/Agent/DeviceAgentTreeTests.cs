using IotOta.DeviceFirmware.Tests.Support;
using IotOta.Gateway.Images;
using IotOta.Shared.Protocol;
using static IotOta.DeviceFirmware.Tests.Support.Images;

namespace IotOta.DeviceFirmware.Tests.Agent;

/// <summary>Relay trees on the device: a relay copy flagged FlagTree goes on to the candidates its group's RelayTree
/// table names for that packet; everything else behaves as before.</summary>
public class DeviceAgentTreeTests
{
    private const byte TreeRelay = DataPacket.FlagRelay | DataPacket.FlagTree;

    /// <summary>A table for group 1: tree 1 of 4; child groups 10, 11 and 12 with 3, 2 and 1 candidates, nodes 100·g + j.</summary>
    private static byte[] Table(uint imageId, uint epoch = 1, int group = 1, int tree = 1, int trees = 4)
    {
        var t = new RelayTree { ImageId = imageId, GroupId = group, Epoch = epoch, TreeCount = trees, Tree = tree, ChildCount = 3 };
        int[] counts = { 3, 2, 1 };
        for (int c = 0; c < 3; c++)
        {
            t.ChildGroup[c] = 10 + c;
            t.CandidateCount[c] = counts[c];
            for (int j = 0; j < counts[c]; j++)
            {
                int s = c * RelayTree.MaxCandidates + j;
                t.CandidateNode[s] = (uint)(100 * (10 + c) + j);
                t.CandidateIp[s] = DeviceHarness.Ip;
                t.CandidatePort[s] = DeviceHarness.PortOf(t.CandidateNode[s]);
            }
        }
        return t.ToBytes();
    }

    private static void Tree(DeviceHarness d, byte[] table) => d.Agent.OnMqttMessage(Topics.GroupTree(d.GroupId), table, 0, table.Length);

    [Fact]
    public void Tree_relay_copy_goes_on_to_the_tables_candidates_first_then_to_the_group()
    {
        using var d = new DeviceHarness(nodeId: 1, groupId: 1);
        d.Members(1, 1, 2, 3);
        var img = Create(V(1, 1, 0));
        d.Manifest(img);
        Tree(d, Table(img.ImageId));
        d.FromPeer(Copy(img, 5, sender: 77, flags: TreeRelay)); // packet 5: tree 5 mod 4 = 1, this group's tree
        d.PumpAll();
        var sends = d.Peer.Sends;
        // candidate (5 mod count) of each child: group 10 has 3 → 1002, group 11 has 2 → 1101, group 12 has 1 → 1200
        string[] relayTo = { DeviceHarness.AddressOf(1002), DeviceHarness.AddressOf(1101), DeviceHarness.AddressOf(1200) };
        Assert.Equal(relayTo, sends.Take(3).Select(s => s.Address));
        foreach (var s in sends.Take(3))
        {
            var p = Parsed.Data(s.Bytes);
            Assert.Equal(TreeRelay, p.Flags);
            Assert.Equal(5, p.Index);
            Assert.Equal(0, p.TargetCount);
            Assert.Equal(Chunk(img, 5), Parsed.Payload(s.Bytes));
        }
        Assert.Equal(new[] { DeviceHarness.AddressOf(2), DeviceHarness.AddressOf(3) }, sends.Skip(3).Select(s => s.Address));
        Assert.All(sends.Skip(3), s => Assert.Equal(0, Parsed.Data(s.Bytes).Flags));
        var n = Assert.Single(d.Notices());
        Assert.Equal(ReceiptNotice.KindRelay, n.Kind);
        Assert.Equal(5, n.CopiesSent);
        Assert.Equal(1, d.Counters.TreeRelays);
    }

    [Fact]
    public void Packets_of_other_trees_and_plain_relays_go_to_the_group_only()
    {
        using var d = new DeviceHarness(nodeId: 1, groupId: 1);
        d.Members(1, 1, 2);
        var img = Create(V(1, 1, 0));
        d.Manifest(img);
        Tree(d, Table(img.ImageId));
        d.FromPeer(Copy(img, 4, sender: 77, flags: TreeRelay));            // tree 0: not this group's
        d.FromPeer(Copy(img, 1, sender: 77, flags: DataPacket.FlagRelay)); // this group's tree, but a plain relay (a re-plan)
        d.FromPeer(Copy(img, 9, sender: 77, flags: DataPacket.FlagTree));  // tree flag without relay flag: a plain copy
        d.PumpAll();
        Assert.Equal(new[] { DeviceHarness.AddressOf(2), DeviceHarness.AddressOf(2) }, d.Peer.Sends.Select(s => s.Address));
        Assert.Equal(2, d.Notices().Count);
        Assert.Equal(0, d.Counters.TreeRelays);
    }

    [Fact]
    public void Original_with_the_tree_flag_passes_it_to_its_named_relays()
    {
        using var d = new DeviceHarness(nodeId: 1, groupId: 1);
        var img = Create(V(1, 1, 0));
        d.Manifest(img);
        Tree(d, Table(img.ImageId)); // the root ignores its table: its children are named
        var relays = new[] { DeviceHarness.Member(60), DeviceHarness.Member(61) };
        byte[] tree = new Packetizer(img).Original(1, relays, tree: true);
        d.Mqtt_(tree);
        d.Original(img, 2, relays); // no tree flag: plain relays
        d.PumpAll();
        var sends = d.Peer.Sends;
        Assert.Equal(4, sends.Count);
        Assert.Equal(new[] { DeviceHarness.AddressOf(60), DeviceHarness.AddressOf(61) }, sends.Take(2).Select(s => s.Address));
        Assert.All(sends.Take(2), s => Assert.Equal(TreeRelay, Parsed.Data(s.Bytes).Flags));
        Assert.All(sends.Skip(2), s => Assert.Equal(DataPacket.FlagRelay, Parsed.Data(s.Bytes).Flags));
    }

    [Fact]
    public void Table_of_another_image_group_or_an_older_epoch_is_not_used()
    {
        using var d = new DeviceHarness(nodeId: 1, groupId: 1);
        var img = Create(V(1, 1, 0));
        d.Manifest(img);
        Tree(d, Table(img.ImageId + 1));                 // a stale table of another rollout
        d.FromPeer(Copy(img, 1, sender: 77, flags: TreeRelay));
        Tree(d, Table(img.ImageId, group: 2));           // another group's: rejected
        Assert.Equal(1, d.Counters.MessagesRejected);
        d.FromPeer(Copy(img, 5, sender: 77, flags: TreeRelay));
        d.PumpAll();
        Assert.Empty(d.Peer.Sends);
        Tree(d, Table(img.ImageId, epoch: 5, tree: 1));
        d.PumpAll();
        // packets 1 and 5 came before a usable table: owed, and relayed once this one arrived (both in tree 1)
        Assert.Equal(6, d.Peer.Sends.Count);
        Assert.Equal(2, d.Counters.TreeRelaysOwed);
        Tree(d, Table(img.ImageId, epoch: 4, tree: 2)); // older: ignored, tree 1 stays
        d.FromPeer(Copy(img, 9, sender: 77, flags: TreeRelay));
        d.PumpAll();
        Assert.Equal(9, d.Peer.Sends.Count);
    }

    /// <summary>The table is retained on MQTT and the relay copy comes over TCP from a peer: under load the copy can
    /// come first. The relay must still pass the packet down (else its child groups all ask the gateway for it).</summary>
    [Fact]
    public void Tree_relay_copy_that_comes_before_the_table_is_relayed_when_the_table_arrives()
    {
        using var d = new DeviceHarness(nodeId: 1, groupId: 1);
        d.Members(1, 1, 2);
        var img = Create(V(1, 1, 0));
        d.Manifest(img);
        d.FromPeer(Copy(img, 5, sender: 77, flags: TreeRelay)); // tree 1: this group's, once the table says so
        d.FromPeer(Copy(img, 4, sender: 77, flags: TreeRelay)); // tree 0: a leaf here, nothing to relay
        d.PumpAll();
        Assert.Equal(new[] { DeviceHarness.AddressOf(2), DeviceHarness.AddressOf(2) }, d.Peer.Sends.Select(s => s.Address));
        Assert.Equal(2, d.Counters.TreeRelaysOwed);
        Tree(d, Table(img.ImageId));
        d.PumpAll();
        var late = d.Peer.Sends.Skip(2).ToList();
        string[] relayTo = { DeviceHarness.AddressOf(1002), DeviceHarness.AddressOf(1101), DeviceHarness.AddressOf(1200) };
        Assert.Equal(relayTo, late.Select(s => s.Address));
        Assert.All(late, s => Assert.Equal(TreeRelay, Parsed.Data(s.Bytes).Flags));
        Assert.All(late, s => Assert.Equal(5, Parsed.Data(s.Bytes).Index));
        Assert.Equal(1, d.Counters.TreeRelays);
        // owed once: a table that arrives again (a new epoch) does not send them a second time
        Tree(d, Table(img.ImageId, epoch: 2));
        d.PumpAll();
        Assert.Equal(5, d.Peer.Sends.Count);
    }

    [Fact]
    public void A_malformed_table_keeps_the_previous_and_an_empty_retained_message_clears_it()
    {
        using var d = new DeviceHarness(nodeId: 1, groupId: 1);
        var img = Create(V(1, 1, 0));
        d.Manifest(img);
        Tree(d, Table(img.ImageId));
        byte[] bad = Table(img.ImageId, epoch: 9);
        Tree(d, bad[..^1]);
        Assert.Equal(1, d.Counters.MessagesRejected);
        d.FromPeer(Copy(img, 1, sender: 77, flags: TreeRelay));
        d.PumpAll();
        Assert.Equal(3, d.Peer.Sends.Count);
        d.Agent.OnMqttMessage(Topics.GroupTree(1), Array.Empty<byte>(), 0, 0);
        d.FromPeer(Copy(img, 5, sender: 77, flags: TreeRelay));
        d.PumpAll();
        Assert.Equal(3, d.Peer.Sends.Count);
        Assert.Equal(2, d.Notices().Count);
    }

    [Fact]
    public void Subscribes_to_its_groups_tree_topic()
    {
        using var d = new DeviceHarness(nodeId: 4, groupId: 6);
        d.Agent.OnConnected();
        Assert.Contains(Topics.GroupTree(6), d.Mqtt.Subscriptions);
        Assert.Equal("iotota/grp/6/tree", Topics.GroupTree(6));
    }

    [Fact]
    public void Tree_relays_allocate_nothing_per_packet()
    {
        using var d = new DeviceHarness(nodeId: 1, groupId: 1);
        d.Members(1, 1, 2, 3);
        var img = Create(V(1, 1, 0), chunks: 200, chunkSize: 256, tail: 0);
        d.Manifest(img);
        Tree(d, Table(img.ImageId, trees: 1, tree: 0)); // every packet is this group's
        byte[][] relays = Enumerable.Range(0, img.ChunkCount).Select(i => Copy(img, i, sender: 9, flags: TreeRelay)).ToArray();
        d.Peer.CountOnly = true;
        d.Mqtt.CountOnly = true;
        for (int i = 0; i < 10; i++)
        {
            d.Agent.OnPeerMessage(relays[i], 0, relays[i].Length);
            while (d.Agent.PumpOnce()) { }
        }
        int sendsBefore = d.Peer.SendCount;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 10; i < 190; i++)
        {
            d.Agent.OnPeerMessage(relays[i], 0, relays[i].Length);
            while (d.Agent.PumpOnce()) { }
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(180 * 5, d.Peer.SendCount - sendsBefore); // 3 tree children + 2 members each
        Assert.True(allocated < 8L * 180, $"{allocated} bytes allocated for 180 tree relays");
    }
}
