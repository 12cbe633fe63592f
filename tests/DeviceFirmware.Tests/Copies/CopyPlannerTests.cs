using IotOta.DeviceFirmware.Copies;
using IotOta.DeviceFirmware.Tests.Support;
using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Tests.Copies;

/// <summary>Every copy destination, decided by the planner alone: group copies, named relays, tree relays, repair replies.</summary>
public sealed class CopyPlannerTests : IDisposable
{
    private readonly TempFlash _flash = new(sectors: 2);

    public void Dispose() => _flash.Dispose();

    private RelayTreeTable NoTable() => new(_flash.Partition(0, 1), 0);

    private const uint Self = 1;
    private static uint IpOf(uint node) => 0x0A000000u + node;
    private static int PortOf(uint node) => 30000 + (int)node;

    private static MemberList Members(params uint[] nodes)
    {
        var u = new MemberListUpdate { GroupId = 5, Epoch = 1, Count = nodes.Length };
        u.EnsureCapacity(nodes.Length);
        for (int i = 0; i < nodes.Length; i++)
        {
            u.NodeIds[i] = nodes[i];
            u.Ips[i] = IpOf(nodes[i]);
            u.Ports[i] = PortOf(nodes[i]);
        }
        var list = new MemberList(16);
        Assert.True(list.Apply(u, 5));
        return list;
    }

    private static DataPacket Packet(MessageType type, byte flags, params uint[] targets)
    {
        var p = new DataPacket { Type = type, Flags = flags, Index = 3, ImageId = 9, SenderNode = 77, TargetCount = targets.Length };
        for (int i = 0; i < targets.Length; i++)
        {
            p.TargetNode[i] = targets[i];
            p.TargetIp[i] = IpOf(targets[i]);
            p.TargetPort[i] = PortOf(targets[i]);
        }
        return p;
    }

    /// <summary>Group 5 in tree 1 of 2, child groups with 3 and 1 candidates; candidate j of child c is node 100·(c+1)+j,
    /// and the single candidate of the second child is this device.</summary>
    private RelayTreeTable Trees(uint imageId)
    {
        var t = new RelayTree { ImageId = imageId, GroupId = 5, Epoch = 1, TreeCount = 2, Tree = 1, ChildCount = 2 };
        int[] counts = { 3, 1 };
        for (int c = 0; c < 2; c++)
        {
            t.ChildGroup[c] = 10 + c;
            t.CandidateCount[c] = counts[c];
            for (int j = 0; j < counts[c]; j++)
            {
                int s = c * RelayTree.MaxCandidates + j;
                t.CandidateNode[s] = c == 1 ? Self : (uint)(100 * (c + 1) + j);
                t.CandidateIp[s] = IpOf(t.CandidateNode[s]);
                t.CandidatePort[s] = PortOf(t.CandidateNode[s]);
            }
        }
        byte[] b = t.ToBytes();
        var table = NoTable();
        Assert.Equal(RelayTreeTable.Taken, table.Offer(b, 0, b.Length, 5));
        return table;
    }

    [Fact]
    public void Group_copies_go_to_every_member_but_this_device_and_the_sender()
    {
        var planner = new CopyPlanner(Self);
        var node = new uint[16];
        var ip = new uint[16];
        var port = new int[16];
        int n = planner.GroupCopies(Members(4, Self, 2, 77, 3), 0, 77, node, ip, port);
        Assert.Equal(new uint[] { 4, 2, 3 }, node.Take(n));
        Assert.Equal(new[] { IpOf(4), IpOf(2), IpOf(3) }, ip.Take(n));
        Assert.Equal(new[] { PortOf(4), PortOf(2), PortOf(3) }, port.Take(n));
        Assert.Equal(0, planner.GroupCopies(Members(Self), 0, 0, node, ip, port));
    }

    [Fact]
    public void Named_relays_are_the_originals_targets_without_this_device()
    {
        var planner = new CopyPlanner(Self);
        var p = Packet(MessageType.Original, 0, 50, Self, 60);
        Assert.Equal(CopyPlanner.RelayNamed, planner.RelayFor(p, NoTable(), 9, 3));
        var job = new ForwardJob();
        Assert.Equal(2, planner.NamedRelays(p, job));
        Assert.Equal(2, job.TargetCount);
        Assert.Equal(new uint[] { 50, 60 }, job.TargetNode.Take(2));
        Assert.Equal(new[] { PortOf(50), PortOf(60) }, job.TargetPort.Take(2));
    }

    [Fact]
    public void A_tree_relay_copy_is_owed_without_a_table_and_goes_to_each_childs_candidate_with_one()
    {
        var planner = new CopyPlanner(Self);
        var p = Packet(MessageType.Copy, DataPacket.FlagRelay | DataPacket.FlagTree);
        Assert.Equal(CopyPlanner.RelayOwed, planner.RelayFor(p, NoTable(), 9, 3));
        RelayTreeTable trees = Trees(9);
        Assert.Equal(CopyPlanner.RelayOwed, planner.RelayFor(p, trees, 8, 3)); // a table for another image is no table
        Assert.Equal(CopyPlanner.RelayTree, planner.RelayFor(p, trees, 9, 3)); // 3 mod 2 = tree 1
        Assert.Equal(CopyPlanner.RelayNone, planner.RelayFor(p, trees, 9, 4)); // tree 0: not this group's
        var job = new ForwardJob();
        // packet 5: candidate 5 mod 3 = 2 of the first child; the second child's only candidate is this device
        Assert.Equal(1, planner.TreeRelays(trees, 5, job));
        Assert.Equal(102u, job.TargetNode[0]);
        Assert.Equal(IpOf(102), job.TargetIp[0]);
    }

    [Fact]
    public void Plain_copies_and_originals_without_targets_need_no_relays()
    {
        var planner = new CopyPlanner(Self);
        RelayTreeTable trees = Trees(9);
        Assert.Equal(CopyPlanner.RelayNone, planner.RelayFor(Packet(MessageType.Original, 0), trees, 9, 3));
        Assert.Equal(CopyPlanner.RelayNone, planner.RelayFor(Packet(MessageType.Copy, 0), trees, 9, 3));
        Assert.Equal(CopyPlanner.RelayNone, planner.RelayFor(Packet(MessageType.Copy, DataPacket.FlagRelay), trees, 9, 3));
    }

    [Fact]
    public void Repair_replies_go_only_to_members_other_than_this_device()
    {
        var planner = new CopyPlanner(Self);
        MemberList members = Members(Self, 2, 3);
        var job = new ForwardJob();
        Assert.True(planner.RepairReply(members, 3, job));
        Assert.Equal(1, job.TargetCount);
        Assert.Equal(3u, job.TargetNode[0]);
        Assert.Equal(PortOf(3), job.TargetPort[0]);
        Assert.False(planner.RepairReply(members, 9, new ForwardJob()));
        Assert.False(planner.RepairReply(members, Self, new ForwardJob()));
        Assert.True(planner.Serves(members, 2));
        Assert.False(planner.Serves(members, Self));
        Assert.False(planner.Serves(members, 9));
    }
}
