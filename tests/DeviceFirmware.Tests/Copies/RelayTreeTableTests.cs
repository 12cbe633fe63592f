using IotOta.DeviceFirmware.Copies;
using IotOta.DeviceFirmware.Tests.Support;
using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Tests.Copies;

/// <summary>The relay-tree table in flash: header in RAM, candidates read back from flash.</summary>
public sealed class RelayTreeTableTests : IDisposable
{
    private readonly TempFlash _flash = new(sectors: 2);

    public void Dispose() => _flash.Dispose();

    private RelayTreeTable NewTable() => new(_flash.Partition(0, 1), 0);

    /// <summary>Child groups 2 and 3 with 1 and 3 candidates; candidate j of child c is node 100·(c+2)+j at port 9000+node.</summary>
    private static byte[] Table(uint imageId, uint epoch, int group)
    {
        var t = new RelayTree { ImageId = imageId, GroupId = group, Epoch = epoch, TreeCount = 2, Tree = 1, ChildCount = 2 };
        int[] counts = { 1, 3 };
        for (int c = 0; c < 2; c++)
        {
            t.ChildGroup[c] = 2 + c;
            t.CandidateCount[c] = counts[c];
            for (int j = 0; j < counts[c]; j++)
            {
                int s = c * RelayTree.MaxCandidates + j;
                t.CandidateNode[s] = (uint)(100 * (c + 2) + j);
                t.CandidateIp[s] = 0x0A000000u + t.CandidateNode[s];
                t.CandidatePort[s] = 9000 + (int)t.CandidateNode[s];
            }
        }
        return t.ToBytes();
    }

    private static int Offer(RelayTreeTable t, byte[] b, int group = 1) => t.Offer(b, 0, b.Length, group);

    [Fact]
    public void Keeps_the_newest_table_of_its_own_group_and_forgets_it_when_withdrawn()
    {
        var t = NewTable();
        Assert.False(t.HasTable(7));
        Assert.Equal(RelayTreeTable.OtherGroup, Offer(t, Table(7, 1, group: 2)));
        Assert.False(t.HasTable(7));
        Assert.Equal(RelayTreeTable.Taken, Offer(t, Table(7, 2, 1)));
        Assert.True(t.HasTable(7));
        Assert.Equal(RelayTreeTable.Older, Offer(t, Table(7, 1, 1)));
        Assert.Equal(2u, t.Epoch);
        Assert.Equal(RelayTreeTable.Taken, Offer(t, Table(8, 1, 1))); // a new image's table replaces it whatever its epoch
        Assert.True(t.HasTable(8));
        t.Withdraw();
        Assert.False(t.HasTable(8));
    }

    [Fact]
    public void Candidates_are_read_back_from_flash_by_packet_index()
    {
        var t = NewTable();
        Assert.Equal(RelayTreeTable.Taken, Offer(t, Table(7, 1, 1)));
        Assert.Equal(2, t.ChildCount);
        Assert.True(t.RelaysPacket(5));
        Assert.False(t.RelaysPacket(4));
        t.Candidate(0, 5, out uint node, out uint ip, out int port);
        Assert.Equal(200u, node);
        t.Candidate(1, 5, out node, out ip, out port); // 5 mod 3 = candidate 2
        Assert.Equal(302u, node);
        Assert.Equal(0x0A000000u + 302, ip);
        Assert.Equal(9302, port);
        Assert.Equal(3, t.CandidateCount(1));
    }

    [Fact]
    public void A_table_that_does_not_parse_leaves_the_held_one()
    {
        var t = NewTable();
        Assert.Equal(RelayTreeTable.Taken, Offer(t, Table(7, 1, 1)));
        byte[] good = Table(7, 5, 1);
        Assert.Throws<ProtocolException>(() => Offer(t, good[..(good.Length - 3)])); // last candidate cut short
        byte[] extra = [.. good, 0];
        Assert.Throws<ProtocolException>(() => Offer(t, extra));
        Assert.True(t.HasTable(7));
        Assert.Equal(1u, t.Epoch);
        t.Candidate(1, 4, out uint node, out _, out _);
        Assert.Equal(301u, node);
    }

    [Fact]
    public void Owed_relays_are_counted_once_and_settled()
    {
        var t = NewTable();
        t.SizeFor(20);
        Assert.True(t.Owe(3));
        Assert.False(t.Owe(3));
        Assert.True(t.Owe(19));
        Assert.False(t.Owe(24)); // beyond the bitmap
        Assert.Equal(2, t.OwedCount);
        Assert.True(t.IsOwed(19));
        t.Settle(19);
        t.Settle(19);
        Assert.Equal(1, t.OwedCount);
        t.SizeFor(10); // a new image owes nothing
        Assert.Equal(0, t.OwedCount);
        Assert.False(t.IsOwed(3));
    }
}
