using IotOta.DeviceFirmware.Copies;
using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Tests.Copies;

/// <summary>Copy trees inside a group (CopyPlanner.TreeCopies): from any root, for any group size and fan-out, every
/// member gets a chunk exactly once, nobody sends more than fan-out copies, and the depth stays logarithmic.</summary>
public class CopyTreeTests
{
    private static MemberList Members(int count, int fanout)
    {
        var u = new MemberListUpdate { GroupId = 5, Epoch = 1, Count = count, Fanout = fanout };
        u.EnsureCapacity(count);
        for (int i = 0; i < count; i++)
        {
            u.NodeIds[i] = (uint)(100 + i * 7);
            u.Ips[i] = 0x0A000000u + (uint)i;
            u.Ports[i] = 30000 + i;
        }
        var list = new MemberList(1024);
        Assert.True(list.Apply(u, 5));
        return list;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(6)]
    public void Every_member_gets_the_chunk_once_from_any_root(int fanout)
    {
        foreach (int n in new[] { 1, 2, 3, 4, 7, 16, 17, 63, 111, 200, 1000 })
        {
            MemberList members = Members(n, fanout);
            foreach (int root in new[] { 0, n / 2, n - 1 })
            {
                var got = new int[n];
                got[root] = 1;
                int maxDepth = 0;
                var work = new Queue<(int Pos, int Span, int Depth)>();
                work.Enqueue((root, n - 1, 0));
                var node = new uint[fanout + 1];
                var ip = new uint[fanout + 1];
                var port = new int[fanout + 1];
                var span = new int[fanout + 1];
                while (work.Count > 0)
                {
                    var (pos, s, depth) = work.Dequeue();
                    maxDepth = Math.Max(maxDepth, depth);
                    var planner = new CopyPlanner(members.NodeAt(pos));
                    Assert.True(planner.UsesTree(members));
                    int k = planner.TreeCopies(members, s, node, ip, port, span);
                    Assert.InRange(k, 0, fanout);
                    int covered = 0;
                    for (int c = 0; c < k; c++)
                    {
                        Assert.NotEqual(members.NodeAt(pos), node[c]);
                        int child = members.IndexOf(node[c]);
                        Assert.Equal(members.IpAt(child), ip[c]);
                        Assert.Equal(members.PortAt(child), port[c]);
                        got[child]++;
                        covered += 1 + span[c];
                        work.Enqueue((child, span[c], depth + 1));
                    }
                    Assert.Equal(Math.Min(s, n - 1), covered);
                }
                Assert.All(got, g => Assert.Equal(1, g));
                // depth: ⌈log_f n⌉ for f ≥ 2 (a chain of n − 1 hops for f = 1)
                int bound = fanout == 1 ? n - 1 : (int)Math.Ceiling(Math.Log(Math.Max(n, 1)) / Math.Log(fanout)) + 1;
                Assert.True(maxDepth <= bound, $"n {n} f {fanout}: depth {maxDepth} > {bound}");
            }
        }
    }

    [Fact]
    public void Without_a_fanout_or_off_the_list_the_device_copies_as_a_full_mesh()
    {
        Assert.False(new CopyPlanner(100).UsesTree(Members(5, 0)));
        Assert.False(new CopyPlanner(999).UsesTree(Members(5, 2)));
        var n = new uint[4];
        Assert.Equal(0, new CopyPlanner(999).TreeCopies(Members(5, 2), 4, n, new uint[4], new int[4], new int[4]));
        Assert.Equal(0, new CopyPlanner(100).TreeCopies(Members(5, 2), 0, n, new uint[4], new int[4], new int[4]));
    }

    [Fact]
    public void A_fanout_larger_than_the_devices_room_shrinks_to_it_and_still_reaches_every_member_once()
    {
        // The gateway names fan-out 6; every device has room for 2 children (a socket budget of 3).
        MemberList members = Members(40, 6);
        var got = new int[40];
        got[7] = 1;
        var work = new Queue<(int Pos, int Span)>();
        work.Enqueue((7, 39));
        var node = new uint[2];
        var span = new int[2];
        while (work.Count > 0)
        {
            var (pos, s) = work.Dequeue();
            int k = new CopyPlanner(members.NodeAt(pos)).TreeCopies(members, s, node, new uint[2], new int[2], span);
            Assert.InRange(k, 0, 2);
            for (int c = 0; c < k; c++)
            {
                int child = members.IndexOf(node[c]);
                got[child]++;
                work.Enqueue((child, span[c]));
            }
        }
        Assert.All(got, g => Assert.Equal(1, g));
        Assert.Equal(2, IotOta.DeviceFirmware.Copies.Forwarder.TreeChildCapacity(3));
        Assert.Equal(1, IotOta.DeviceFirmware.Copies.Forwarder.TreeChildCapacity(2));
        Assert.Equal(IotOta.Shared.Protocol.MemberListUpdate.MaxFanout, IotOta.DeviceFirmware.Copies.Forwarder.TreeChildCapacity(0));
    }
}
