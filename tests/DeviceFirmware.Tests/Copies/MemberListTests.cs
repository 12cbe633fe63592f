using IotOta.DeviceFirmware.Copies;
using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Tests.Copies;

public class MemberListTests
{
    private static MemberListUpdate Update(int group, uint epoch, params uint[] nodes)
    {
        var u = new MemberListUpdate { GroupId = group, Epoch = epoch, Count = nodes.Length };
        u.EnsureCapacity(nodes.Length);
        for (int i = 0; i < nodes.Length; i++)
        {
            u.NodeIds[i] = nodes[i];
            u.Ips[i] = 0x0100007F + (uint)i;
            u.Ports[i] = 3000 + (int)nodes[i];
        }
        return u;
    }

    [Fact]
    public void First_update_of_my_group_is_applied()
    {
        var l = new MemberList(8);
        Assert.True(l.Apply(Update(4, 10, 7, 8, 9), 4));
        Assert.Equal(3, l.Count);
        Assert.Equal(10u, l.Epoch);
        Assert.Equal(4, l.GroupId);
        Assert.Equal(8u, l.NodeAt(1));
        Assert.Equal(0x0100007Fu + 1, l.IpAt(1));
        Assert.Equal(3008, l.PortAt(1));
        Assert.Equal(2, l.IndexOf(9));
        Assert.Equal(-1, l.IndexOf(10));
    }

    [Fact]
    public void Epoch_zero_is_accepted_as_a_first_list()
    {
        var l = new MemberList(8);
        Assert.True(l.Apply(Update(1, 0, 5), 1));
        Assert.Equal(1, l.Count);
    }

    [Fact]
    public void Older_or_equal_epoch_is_ignored()
    {
        var l = new MemberList(8);
        l.Apply(Update(1, 5, 1, 2, 3), 1);
        Assert.False(l.Apply(Update(1, 4, 9), 1));
        Assert.False(l.Apply(Update(1, 5, 9), 1));
        Assert.Equal(3, l.Count);
        Assert.Equal(-1, l.IndexOf(9));
        Assert.True(l.Apply(Update(1, 6, 9), 1));
        Assert.Equal(1, l.Count);
        Assert.Equal(0, l.IndexOf(9));
    }

    [Fact]
    public void Update_of_another_group_is_ignored()
    {
        var l = new MemberList(8);
        Assert.False(l.Apply(Update(2, 1, 1, 2), 1));
        Assert.Equal(0, l.Count);
    }

    [Fact]
    public void Members_beyond_capacity_are_left_out()
    {
        var l = new MemberList(2);
        Assert.True(l.Apply(Update(1, 1, 1, 2, 3, 4), 1));
        Assert.Equal(2, l.Count);
        Assert.Equal(-1, l.IndexOf(3));
    }

    [Fact]
    public void Shrinking_list_forgets_removed_members()
    {
        var l = new MemberList(8);
        l.Apply(Update(1, 1, 1, 2, 3), 1);
        l.Apply(Update(1, 2, 1), 1);
        Assert.Equal(1, l.Count);
        Assert.Equal(-1, l.IndexOf(3));
    }

    [Fact]
    public void The_wire_form_carries_the_copy_tree_fan_out_even_past_the_capacity()
    {
        var u = new MemberListUpdate { GroupId = 1, Epoch = 3, Count = 5, Fanout = 2 };
        u.EnsureCapacity(5);
        for (int i = 0; i < 5; i++)
        {
            u.NodeIds[i] = (uint)(i + 1);
            u.Ips[i] = 0x0100007F;
            u.Ports[i] = 20000 + i;
        }
        byte[] b = u.ToBytes();
        var l = new MemberList(3); // keeps 3 of 5: the tail sits after all 5 entries
        Assert.True(l.Apply(b, 0, b.Length, 1));
        Assert.Equal(2, l.Fanout);
        Assert.Equal(3, l.Count);

        u.Epoch = 4;
        u.Fanout = 0; // an older gateway: no tail, the full mesh
        b = u.ToBytes();
        Assert.True(l.Apply(b, 0, b.Length, 1));
        Assert.Equal(0, l.Fanout);

        u.Epoch = 5;
        u.Fanout = 3;
        b = u.ToBytes();
        b[^1] = 0; // fan-out 0 with the tag: out of range, the list stays as it was
        Assert.Throws<ProtocolException>(() => l.Apply(b, 0, b.Length, 1));
        Assert.Equal(4u, l.Epoch);
        Assert.Equal(0, l.Fanout);

        var other = new byte[b.Length + 3];
        u.Fanout = 0;
        u.Epoch = 6;
        byte[] plain = u.ToBytes();
        Array.Copy(plain, other, plain.Length);
        Assert.True(l.Apply(other, 0, other.Length, 1)); // trailing bytes of a later version: ignored, no fan-out
        Assert.Equal(0, l.Fanout);
    }
    [Fact]
    public void Dropped_tells_whether_the_update_left_out_a_member_the_list_had()
    {
        var l = new MemberList(8);
        byte[] b = Update(1, 1, 1, 2, 3).ToBytes();
        Assert.True(l.Apply(b, 0, b.Length, 1));
        Assert.False(l.Dropped);                  // a first list: nobody left
        b = Update(1, 2, 3, 1, 2, 4).ToBytes();
        Assert.True(l.Apply(b, 0, b.Length, 1));
        Assert.False(l.Dropped);                  // one joined, order changed
        b = Update(1, 3, 4, 5, 1, 2).ToBytes();
        Assert.True(l.Apply(b, 0, b.Length, 1));
        Assert.True(l.Dropped);                   // 3 left (and 5 joined: same count)
        b = Update(1, 3, 1).ToBytes();
        Assert.False(l.Apply(b, 0, b.Length, 1)); // an old epoch changes nothing
        Assert.True(l.Dropped);
        Assert.True(l.Apply(Update(1, 4, 4, 5, 1, 2, 6), 1));
        Assert.False(l.Dropped);
        Assert.True(l.Apply(Update(1, 5, 4, 5, 2), 1));
        Assert.True(l.Dropped);                   // the decoded form too
    }
}
