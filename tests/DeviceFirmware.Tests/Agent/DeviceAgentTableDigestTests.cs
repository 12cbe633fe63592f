using System.Security.Cryptography;
using IotOta.DeviceFirmware.Agent;
using IotOta.DeviceFirmware.Tests.Support;
using IotOta.Shared.Protocol;
using static IotOta.DeviceFirmware.Tests.Support.Images;

namespace IotOta.DeviceFirmware.Tests.Agent;

/// <summary>Issue #15: a group's relay-tree table over the second network. The gateway sends every member the table's
/// digest (retained) and the table to one member, the seed, which passes it to the group; a member takes a table from a
/// peer only when it matches the digest, drops a held table of older trees when a newer digest comes, and asks the
/// gateway for the table when it holds the digest but not the table after DeviceAgent.TableWaitMs.</summary>
public class DeviceAgentTableDigestTests
{
    private const byte TreeRelay = DataPacket.FlagRelay | DataPacket.FlagTree;

    /// <summary>Group 1's table: tree 1 of 2, one child group (10) with one candidate, node 1000.</summary>
    private static byte[] Table(uint imageId, uint epoch = 1) => TableWith(imageId, epoch, 1);

    private static byte[] Digest(byte[] table, int group = 1)
    {
        var t = new RelayTree();
        t.Parse(table, 0, table.Length);
        var d = new RelayTreeDigest { ImageId = t.ImageId, GroupId = group, Epoch = t.Epoch, TableLength = table.Length };
        Array.Copy(SHA256.HashData(table), d.Digest, RelayTreeDigest.DigestLength);
        var b = new byte[RelayTreeDigest.EncodedLength];
        d.Encode(b, 0);
        return b;
    }

    /// <summary>The table as a member passes it on: a copy flagged FlagTable (and FlagSpan with a span).</summary>
    private static byte[] TableCopy(uint imageId, byte[] table, int span, uint sender = 2, byte flags = 0)
    {
        byte f = (byte)(DataPacket.FlagTable | (span > 0 ? DataPacket.FlagSpan : 0) | flags);
        var head = new byte[64];
        int h = DataPacket.WriteHeaderOnly(new WireWriter(head), MessageType.Copy, imageId, 0, f, sender, 0, null, null, null, table.Length, span);
        return head[..h].Concat(table).ToArray();
    }

    private static (DeviceHarness d, IotOta.Gateway.Images.FirmwareImage img) Receiving(params uint[] members)
    {
        var d = new DeviceHarness(nodeId: 1, groupId: 1);
        d.Members(1, members.Length == 0 ? new uint[] { 1, 2, 3 } : members);
        var img = Create(V(1, 1, 0));
        d.Manifest(img);
        return (d, img);
    }

    private static void OnGroupTopic(DeviceHarness d, byte[] m) => d.Agent.OnMqttMessage(Topics.GroupTree(1), m, 0, m.Length);

    private static List<byte[]> TablesSent(DeviceHarness d) => d.Peer.Sends
        .Where(s => s.Bytes[3] == (byte)MessageType.Copy && (Parsed.Data(s.Bytes).Flags & DataPacket.FlagTable) != 0).Select(s => s.Bytes).ToList();

    private static int RelaysToChild(DeviceHarness d, IotOta.Gateway.Images.FirmwareImage img, int packet)
    {
        int before = d.Peer.Sends.Count(s => s.Port == DeviceHarness.PortOf(1000));
        d.FromPeer(Copy(img, packet, sender: 77, flags: TreeRelay));
        d.PumpAll();
        return d.Peer.Sends.Count(s => s.Port == DeviceHarness.PortOf(1000)) - before;
    }

    [Fact]
    public void The_seed_takes_the_table_the_digest_names_and_passes_it_to_every_member()
    {
        var (d, img) = Receiving();
        using var _ = d;
        byte[] table = Table(img.ImageId);
        OnGroupTopic(d, Digest(table));
        d.Mqtt_(table);
        d.PumpAll();
        var sent = d.Peer.Sends.Where(s => TablesSent(d).Contains(s.Bytes)).ToList();
        Assert.Equal(new[] { DeviceHarness.PortOf(2), DeviceHarness.PortOf(3) }, sent.Select(s => s.Port).Order());
        foreach (var s in sent)
        {
            DataPacket p = Parsed.Data(s.Bytes);
            Assert.Equal(MessageType.Copy, p.Type);
            Assert.Equal(table, p.PayloadBuffer.AsSpan(p.PayloadOffset, p.PayloadLength).ToArray());
        }
        Assert.Equal(1, RelaysToChild(d, img, 1)); // and it relays by it
    }

    [Fact]
    public void A_table_from_the_gateway_without_a_digest_is_kept_and_not_passed_on()
    {
        var (d, img) = Receiving();
        using var _ = d;
        d.Mqtt_(Table(img.ImageId));
        d.PumpAll();
        Assert.Empty(TablesSent(d));
        Assert.Equal(1, RelaysToChild(d, img, 1));
    }

    [Fact]
    public void A_member_takes_a_table_from_a_peer_only_when_it_matches_the_digest_and_passes_it_down_its_span()
    {
        var (d, img) = Receiving(1, 2, 3, 4, 5, 6, 7);
        using var _ = d;
        d.TreeMembers(2, 1, 2, 3, 4, 5, 6, 7);
        byte[] table = Table(img.ImageId);
        byte[] forged = (byte[])table.Clone();
        forged[^1] ^= 1; // another port for the child's candidate
        d.FromPeer(TableCopy(img.ImageId, table, 0)); // before the digest: not taken
        OnGroupTopic(d, Digest(table));
        d.FromPeer(TableCopy(img.ImageId, forged, 0));
        Assert.Equal(0, d.Counters.TablesFromPeers);
        Assert.Equal(0, RelaysToChild(d, img, 1)); // no table: owed
        Assert.Equal(1, d.Counters.TreeRelaysOwed);
        d.FromPeer(TableCopy(img.ImageId, table, 3));
        d.PumpAll();
        Assert.Equal(1, d.Counters.TablesFromPeers);
        Assert.Equal(1, d.Peer.Sends.Count(s => s.Port == DeviceHarness.PortOf(1000))); // the owed relay copy went
        var passed = TablesSent(d);
        Assert.NotEmpty(passed);
        Assert.All(passed, b => Assert.True(Parsed.Data(b).Span < 3));
        Assert.True(d.Counters.MessagesRejected >= 2);
    }

    [Fact]
    public void A_digest_of_newer_trees_takes_the_held_table_back_until_its_table_comes()
    {
        var (d, img) = Receiving();
        using var _ = d;
        byte[] first = Table(img.ImageId, epoch: 1);
        OnGroupTopic(d, first); // a full table, retained, as a gateway without digests sends it
        Assert.Equal(1, RelaysToChild(d, img, 1));
        byte[] second = Table(img.ImageId, epoch: 2);
        OnGroupTopic(d, Digest(second));
        Assert.Equal(0, RelaysToChild(d, img, 3)); // owed, not relayed by the old table
        Assert.Equal(1, d.Counters.TreeRelaysOwed);
        d.FromPeer(TableCopy(img.ImageId, first, 0)); // the old table from a peer: not the one named
        Assert.Equal(0, d.Counters.TablesFromPeers);
        d.FromPeer(TableCopy(img.ImageId, second, 0));
        d.PumpAll();
        Assert.Equal(1, d.Counters.TablesFromPeers);
        Assert.Equal(2, d.Peer.Sends.Count(s => s.Port == DeviceHarness.PortOf(1000)));
    }

    [Fact]
    public void A_device_with_the_digest_but_no_table_asks_the_gateway_and_keeps_its_answer_to_itself()
    {
        var (d, img) = Receiving();
        using var _ = d;
        byte[] table = Table(img.ImageId);
        OnGroupTopic(d, Digest(table));
        List<byte[]> Asks() => d.Out(MessageType.PieceRequest);
        Ticks(d, DeviceAgent.TableWaitMs - 100);
        Assert.Empty(Asks());
        Ticks(d, 200);
        var q = new PieceRequest();
        byte[] ask = Assert.Single(Asks());
        q.Parse(ask, 0, ask.Length);
        Assert.Equal((1u, img.ImageId, PieceRequest.WhatRelayTable), (q.NodeId, q.ImageId, q.What));
        d.Mqtt_(TableCopy(img.ImageId, table, 0, sender: 0, flags: DataPacket.FlagRepair));
        d.PumpAll();
        Assert.Empty(TablesSent(d)); // an answer is not passed on: the group mates ask for themselves
        Assert.Equal(1, RelaysToChild(d, img, 1));
        Ticks(d, 2 * DeviceAgent.TableAskMs);
        Assert.Single(Asks()); // held now: no more asking
    }

    [Fact]
    public void A_seed_passes_the_table_on_before_it_works_on_the_image_and_again_after_admitting_it()
    {
        // The seed of a level-1 group often gets the signed root only with its first piece, and the group's piece relay
        // copies wait for the table: it goes on at once. Admitting the image clears the forwarder's queue, so it goes
        // again; a member that holds it takes nothing and passes nothing on (below).
        var d = new DeviceHarness(nodeId: 1, groupId: 1);
        using var _ = d;
        d.Members(1, 1, 2, 3);
        var img = Create(V(1, 1, 0));
        byte[] table = Table(img.ImageId);
        OnGroupTopic(d, Digest(table));
        d.Mqtt_(table);
        d.PumpAll();
        Assert.Equal(2, TablesSent(d).Count);
        d.Manifest(img);
        d.PumpAll();
        Assert.Equal(4, TablesSent(d).Count);
    }

    [Fact]
    public void A_member_that_gets_the_same_table_again_rewrites_nothing_and_passes_nothing_on()
    {
        var (d, img) = Receiving(1, 2, 3, 4, 5, 6, 7);
        using var _ = d;
        d.TreeMembers(2, 1, 2, 3, 4, 5, 6, 7);
        byte[] table = Table(img.ImageId);
        OnGroupTopic(d, Digest(table));
        d.FromPeer(TableCopy(img.ImageId, table, 3));
        d.PumpAll();
        int passed = TablesSent(d).Count;
        Assert.True(passed > 0);
        long erases = d.Flash.Flash.EraseCount;
        d.FromPeer(TableCopy(img.ImageId, table, 3));
        d.PumpAll();
        Assert.Equal(passed, TablesSent(d).Count);
        Assert.Equal(erases, d.Flash.Flash.EraseCount);
        Assert.Equal(1, d.Counters.TablesFromPeers);
    }

    [Fact]
    public void A_member_whose_copy_came_before_the_digest_asks_that_member_again_and_passes_the_answer_down_its_span()
    {
        var (d, img) = Receiving(1, 2, 3, 4, 5, 6, 7);
        using var _ = d;
        d.TreeMembers(2, 1, 2, 3, 4, 5, 6, 7);
        byte[] table = Table(img.ImageId);
        d.FromPeer(TableCopy(img.ImageId, table, 3, sender: 2)); // the digest is still on its way
        Assert.Equal(0, d.Counters.TablesFromPeers);
        OnGroupTopic(d, Digest(table));
        d.Clock.Advance(50);
        d.Agent.Tick();
        var ask = Assert.Single(d.Peer.Sends, s => s.Bytes[3] == (byte)MessageType.PieceRequest);
        Assert.Equal(DeviceHarness.PortOf(2), ask.Port);
        var q = new PieceRequest();
        q.Parse(ask.Bytes, 0, ask.Bytes.Length);
        Assert.Equal(PieceRequest.WhatRelayTable, q.What);
        Assert.Empty(d.Out(MessageType.PieceRequest)); // not the gateway
        d.FromPeer(TableCopy(img.ImageId, table, 0, sender: 2, flags: DataPacket.FlagRepair));
        d.PumpAll();
        Assert.Equal(1, d.Counters.TablesFromPeers);
        var passed = TablesSent(d);
        Assert.NotEmpty(passed); // the span its first copy carried
        Assert.All(passed, b => Assert.True(Parsed.Data(b).Span < 3));
    }

    [Fact]
    public void A_member_holding_the_named_table_answers_a_member_s_request_with_one_copy()
    {
        var (d, img) = Receiving();
        using var _ = d;
        byte[] table = Table(img.ImageId);
        var ask = new byte[PieceRequest.EncodedLength];
        new PieceRequest { NodeId = 3, ImageId = img.ImageId, What = PieceRequest.WhatRelayTable }.Encode(ask, 0);
        d.FromPeer(ask); // no table yet: nothing to answer
        d.PumpAll();
        Assert.Empty(TablesSent(d));
        OnGroupTopic(d, Digest(table));
        d.FromPeer(TableCopy(img.ImageId, table, 0, sender: 2));
        d.FromPeer(ask);
        d.PumpAll();
        var answer = Assert.Single(TablesSent(d));
        DataPacket p = Parsed.Data(answer);
        Assert.Equal(DataPacket.FlagTable | DataPacket.FlagRepair, p.Flags);
        Assert.Equal(table, p.PayloadBuffer.AsSpan(p.PayloadOffset, p.PayloadLength).ToArray());
        Assert.Equal(DeviceHarness.PortOf(3), d.Peer.Sends.Single(s => s.Bytes[3] == (byte)MessageType.Copy && (Parsed.Data(s.Bytes).Flags & DataPacket.FlagTable) != 0).Port);
    }

    /// <summary>A table of group 1 with <paramref name="candidates"/> candidates for its one child (another length).</summary>
    private static byte[] TableWith(uint imageId, uint epoch, int candidates)
    {
        var t = new RelayTree { ImageId = imageId, GroupId = 1, Epoch = epoch, TreeCount = 2, Tree = 1, ChildCount = 1 };
        t.ChildGroup[0] = 10;
        t.CandidateCount[0] = candidates;
        for (int j = 0; j < candidates; j++)
        {
            t.CandidateNode[j] = 1000u + (uint)j;
            t.CandidateIp[j] = DeviceHarness.Ip;
            t.CandidatePort[j] = DeviceHarness.PortOf(1000u + (uint)j);
        }
        return t.ToBytes();
    }

    private static void Ticks(DeviceHarness d, int ms)
    {
        for (int t = 0; t < ms; t += 100) { d.Clock.Advance(100); d.Agent.Tick(); }
    }

    [Fact]
    public void A_seed_passes_a_new_table_with_its_own_length_not_the_last_one_s()
    {
        var (d, img) = Receiving();
        using var _ = d;
        byte[] first = TableWith(img.ImageId, 1, 1);
        OnGroupTopic(d, Digest(first));
        d.Mqtt_(first);
        d.PumpAll();
        byte[] second = TableWith(img.ImageId, 2, 3); // rebuilt trees: 20 bytes longer
        OnGroupTopic(d, Digest(second));
        d.Mqtt_(second);
        d.PumpAll();
        var sent = TablesSent(d).Select(b => Parsed.Data(b)).Select(p => p.PayloadBuffer.AsSpan(p.PayloadOffset, p.PayloadLength).ToArray()).ToList();
        Assert.Equal(4, sent.Count);
        Assert.Equal(2, sent.Count(t => t.SequenceEqual(first)));
        Assert.Equal(2, sent.Count(t => t.SequenceEqual(second)));
    }

    [Fact]
    public void A_new_digest_after_a_held_table_waits_for_the_seed_before_asking_and_the_same_digest_again_changes_nothing()
    {
        var (d, img) = Receiving();
        using var _ = d;
        byte[] first = Table(img.ImageId, epoch: 1);
        OnGroupTopic(d, Digest(first));
        d.FromPeer(TableCopy(img.ImageId, first, 0));
        Ticks(d, 10_000); // a long while with the table
        byte[] second = Table(img.ImageId, epoch: 2);
        OnGroupTopic(d, Digest(second));
        Ticks(d, DeviceAgent.TableWaitMs - 200);
        OnGroupTopic(d, Digest(second)); // the retained digest again (a resubscription): the wait goes on
        Assert.Empty(d.Out(MessageType.PieceRequest));
        Ticks(d, 400);
        Assert.Single(d.Out(MessageType.PieceRequest));
    }

    [Fact]
    public void A_device_asks_only_while_receiving_and_at_most_TableAsksMax_times()
    {
        var (d, img) = Receiving();
        using var _ = d;
        OnGroupTopic(d, Digest(Table(img.ImageId)));
        Ticks(d, DeviceAgent.TableWaitMs + 20 * DeviceAgent.TableAskMs);
        Assert.Equal(DeviceAgent.TableAsksMax, d.Out(MessageType.PieceRequest).Count);

        var idle = new DeviceHarness(nodeId: 1, groupId: 1); // not receiving: the digest of an image it does not work on
        using var __ = idle;
        idle.Members(1, 1, 2, 3);
        OnGroupTopic(idle, Digest(Table(img.ImageId)));
        Ticks(idle, DeviceAgent.TableWaitMs + 2 * DeviceAgent.TableAskMs);
        Assert.Empty(idle.Out(MessageType.PieceRequest));
    }

    [Fact]
    public void A_whole_table_from_the_gateway_of_the_digest_s_trees_or_later_ends_the_asking()
    {
        var (d, img) = Receiving();
        using var _ = d;
        OnGroupTopic(d, Digest(Table(img.ImageId, epoch: 1)));
        OnGroupTopic(d, Table(img.ImageId, epoch: 2)); // the group's table went whole (it no longer gets a digest)
        Ticks(d, DeviceAgent.TableWaitMs + 2 * DeviceAgent.TableAskMs);
        Assert.Empty(d.Out(MessageType.PieceRequest));
        Assert.Equal(1, RelaysToChild(d, img, 1));
    }

    [Fact]
    public void A_seed_whose_table_came_before_the_digest_passes_it_on_when_the_digest_comes()
    {
        var (d, img) = Receiving();
        using var _ = d;
        byte[] table = Table(img.ImageId);
        d.Mqtt_(table);
        d.PumpAll();
        Assert.Empty(TablesSent(d));
        OnGroupTopic(d, Digest(table));
        d.PumpAll();
        Assert.Equal(2, TablesSent(d).Count);
    }
}
