using IotOta.DeviceFirmware.Copies;
using IotOta.Gateway.Scheduling;
using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Core.Tests.Scheduling;

public class CopyTreeShapeTests
{
    /// <summary>Walks the devices' own planner down the tree from every root and counts each member's copies.</summary>
    private static int[] DeviceCopies(int n, int fanout, int root)
    {
        var copies = new int[n];
        var stack = new Stack<(int Pos, int Span)>();
        stack.Push((root, n - 1));
        while (stack.Count > 0)
        {
            var (pos, span) = stack.Pop();
            var list = new MemberList(n);
            var update = new MemberListUpdate { GroupId = 1, Epoch = 1, Count = n, Fanout = fanout };
            update.EnsureCapacity(n);
            for (int i = 0; i < n; i++)
            {
                update.NodeIds[i] = (uint)(100 + i);
                update.Ips[i] = 0x7F000001;
                update.Ports[i] = 2000 + i;
            }
            Assert.True(list.Apply(update, 1));
            var planner = new CopyPlanner((uint)(100 + pos));
            var node = new uint[8];
            var ip = new uint[8];
            var port = new int[8];
            var childSpan = new int[8];
            int c = planner.TreeCopies(list, span, node, ip, port, childSpan);
            if (pos != root) copies[pos] = c;
            for (int j = 0; j < c; j++) stack.Push(((int)(node[j] - 100), childSpan[j]));
        }
        return copies;
    }

    [Theory]
    [InlineData(3, 2)]
    [InlineData(11, 2)]
    [InlineData(16, 2)]
    [InlineData(111, 2)]
    [InlineData(111, 3)]
    [InlineData(40, 5)]
    public void Forwarders_are_the_members_the_devices_own_planner_makes_forward(int n, int fanout)
    {
        CopyTreeShape shape = CopyTreeShape.For(n, fanout);
        foreach (int root in new[] { 0, 1, n / 2, n - 1 })
        {
            int[] expected = DeviceCopies(n, fanout, root);
            var actual = new int[n];
            for (int j = 0; j < shape.Count; j++)
            {
                var (offset, c) = shape.Forwarders(j);
                actual[(root + offset) % n] = c;
            }
            Assert.Equal(expected, actual);
        }
    }

    [Fact]
    public void A_full_mesh_or_a_pair_has_no_forwarders()
    {
        Assert.Equal(0, CopyTreeShape.For(111, 0).Count);
        Assert.Equal(0, CopyTreeShape.For(2, 2).Count);
    }
}
