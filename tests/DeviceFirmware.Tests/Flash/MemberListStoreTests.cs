using IotOta.DeviceFirmware.Copies;
using IotOta.DeviceFirmware.Flash;
using IotOta.Shared.Protocol;
using IotOta.VirtualDevice.Flash;

namespace IotOta.DeviceFirmware.Tests.Flash;

/// <summary>The member list kept in flash across a restart (issue #15: a restart must not cost the broker the list again).</summary>
public class MemberListStoreTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "iotota-mls-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly FileFlash _flash;

    public MemberListStoreTests()
    {
        Directory.CreateDirectory(_dir);
        _flash = new FileFlash(Path.Combine(_dir, "flash.bin"), 8 * 4096, 4096);
    }

    public void Dispose()
    {
        _flash.Dispose();
        Directory.Delete(_dir, true);
    }

    private static byte[] List(int group, uint epoch, int members, int fanout)
    {
        var u = new MemberListUpdate { GroupId = group, Epoch = epoch, Count = members, Fanout = fanout };
        u.EnsureCapacity(members);
        for (int i = 0; i < members; i++)
        {
            u.NodeIds[i] = (uint)(1000 + i);
            u.Ips[i] = 0x0100007Fu + (uint)i;
            u.Ports[i] = 30000 + i;
        }
        return u.ToBytes();
    }

    private MemberListStore Store(int sectors) => new(_flash.Partition("boot", 0, sectors * 4096));

    [Fact]
    public void A_saved_list_comes_back_whole_after_a_restart_even_through_a_small_scratch()
    {
        var bytes = List(3, 17, 300, 2); // 3,014 bytes
        Assert.True(Store(3).Save(bytes, 0, bytes.Length));
        var list = new MemberList(512);
        Assert.True(Store(3).Restore(list, 3, new byte[64]));
        var direct = new MemberList(512);
        Assert.True(direct.Apply(bytes, 0, bytes.Length, 3));
        Assert.Equal((direct.Count, direct.Epoch, direct.Fanout, direct.GroupId), (list.Count, list.Epoch, list.Fanout, list.GroupId));
        for (int i = 0; i < direct.Count; i++)
            Assert.Equal((direct.NodeAt(i), direct.IpAt(i), direct.PortAt(i)), (list.NodeAt(i), list.IpAt(i), list.PortAt(i)));
        // the kept list is provisional: the gateway's next list replaces it whatever its epoch (a restarted gateway
        // counts from 1 again), and from then on epochs rule again
        Assert.True(list.Apply(List(3, 2, 2, 2), 0, List(3, 2, 2, 2).Length, 3));
        Assert.Equal(2, list.Count);
        Assert.False(list.Apply(List(3, 1, 5, 2), 0, List(3, 1, 5, 2).Length, 3));
        // a capacity below the list keeps its first members, as Apply does
        var small = new MemberList(10);
        Assert.True(Store(3).Restore(small, 3, new byte[64]));
        Assert.Equal(10, small.Count);
        Assert.Equal(1009u, small.NodeAt(9));
    }

    [Fact]
    public void A_torn_or_foreign_record_is_no_list()
    {
        var bytes = List(3, 5, 20, 0);
        var store = Store(3);
        Assert.True(store.Save(bytes, 0, bytes.Length));
        Assert.False(store.Restore(new MemberList(64), 4, new byte[64])); // another group's
        // one bit of the list flipped in flash (NOR can clear bits): the CRC no longer matches
        var part = _flash.Partition("boot", 0, 3 * 4096);
        part.Write(MemberListStore.FirstSector * 4096 + MemberListStore.HeaderLength + 20, new byte[] { 0x00 }, 0, 1);
        Assert.False(store.Restore(new MemberList(64), 3, new byte[64]));
        // a power cut after the erase, before the header: nothing
        part.Erase(MemberListStore.FirstSector * 4096, 4096);
        part.Write(MemberListStore.FirstSector * 4096 + MemberListStore.HeaderLength, bytes, 0, bytes.Length);
        Assert.False(store.Restore(new MemberList(64), 3, new byte[64]));
    }

    [Fact]
    public void A_list_longer_than_the_room_erases_the_kept_one_and_a_partition_without_room_keeps_none()
    {
        var store = Store(3); // one sector after the boot record's two
        var small = List(1, 1, 10, 2);
        Assert.True(store.Save(small, 0, small.Length));
        var big = List(1, 2, 500, 2); // 5,014 bytes > 4,088
        Assert.False(store.Save(big, 0, big.Length));
        Assert.False(store.Restore(new MemberList(1024), 1, new byte[64])); // never the older list
        var none = Store(2);
        Assert.Equal(0, none.Room);
        Assert.False(none.Save(small, 0, small.Length));
        Assert.False(none.Restore(new MemberList(64), 1, new byte[64]));
    }
}
