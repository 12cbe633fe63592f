using IotOta.DeviceFirmware.Copies;
using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Tests.Copies;

public class RelayTreeTableTests
{
    private static byte[] Table(uint imageId, uint epoch, int group)
    {
        var t = new RelayTree { ImageId = imageId, GroupId = group, Epoch = epoch, TreeCount = 1, Tree = 0, ChildCount = 1 };
        t.ChildGroup[0] = 2;
        t.CandidateCount[0] = 1;
        t.CandidateNode[0] = 200;
        return t.ToBytes();
    }

    private static int Offer(RelayTreeTable t, byte[] b, int group = 1) => t.Offer(b, 0, b.Length, group);

    [Fact]
    public void Keeps_the_newest_table_of_its_own_group_and_forgets_it_when_withdrawn()
    {
        var t = new RelayTreeTable();
        Assert.False(t.HasTable(7));
        Assert.Equal(RelayTreeTable.OtherGroup, Offer(t, Table(7, 1, group: 2)));
        Assert.False(t.HasTable(7));
        Assert.Equal(RelayTreeTable.Taken, Offer(t, Table(7, 2, 1)));
        Assert.True(t.HasTable(7));
        Assert.Equal(RelayTreeTable.Older, Offer(t, Table(7, 1, 1)));
        Assert.Equal(2u, t.Table.Epoch);
        Assert.Equal(RelayTreeTable.Taken, Offer(t, Table(8, 1, 1))); // a new image's table replaces it whatever its epoch
        Assert.True(t.HasTable(8));
        t.Withdraw();
        Assert.False(t.HasTable(8));
    }

    [Fact]
    public void A_table_that_does_not_parse_leaves_the_held_one()
    {
        var t = new RelayTreeTable();
        Assert.Equal(RelayTreeTable.Taken, Offer(t, Table(7, 1, 1)));
        byte[] bad = Table(7, 5, 1)[..20];
        Assert.Throws<ProtocolException>(() => Offer(t, bad));
        Assert.True(t.HasTable(7));
        Assert.Equal(1u, t.Table.Epoch);
    }

    [Fact]
    public void Owed_relays_are_counted_once_and_settled()
    {
        var t = new RelayTreeTable();
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
