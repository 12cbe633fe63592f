using IotOta.DeviceFirmware.Flash;
using IotOta.DeviceFirmware.Tests.Support;

namespace IotOta.DeviceFirmware.Tests.Flash;

/// <summary>The chunk-hash list in flash, filled whole or piece by piece, read back per check.</summary>
public sealed class HashListStoreTests : IDisposable
{
    private readonly TempFlash _flash = new(sectors: 4);

    public void Dispose() => _flash.Dispose();

    private static byte[] Hashes(int count, int seed) => Images.RandomBytes(count * 32, seed);

    [Fact]
    public void Pieces_written_in_any_order_match_only_their_own_hashes()
    {
        var part = _flash.Partition(0, 4);
        var store = new HashListStore();
        store.Bind(part, 100, 40);
        byte[] all = Hashes(40, 3);
        store.WritePiece(32, all, 32 * 32, 8);
        store.WritePiece(0, all, 0, 16);
        Assert.True(store.IsPresent(0));
        Assert.True(store.IsPresent(39));
        Assert.False(store.IsPresent(16)); // not written yet: blank
        Assert.False(store.Matches(16, all, 16 * 32));
        Assert.True(store.Matches(35, all, 35 * 32));
        Assert.False(store.Matches(34, all, 35 * 32));
        store.WritePiece(16, all, 16 * 32, 16);
        for (int i = 0; i < 40; i++) Assert.True(store.Matches(i, all, i * 32), $"chunk {i}");
        var back = new byte[32];
        store.Read(7, back, 0);
        Assert.Equal(all[(7 * 32)..(8 * 32)], back);
    }

    [Fact]
    public void A_list_that_does_not_fit_or_a_piece_outside_it_is_refused()
    {
        var part = _flash.Partition(0, 1);
        var store = new HashListStore();
        Assert.Throws<IotOta.DeviceFirmware.Ports.FlashException>(() => store.Bind(part, 0, 129)); // 129 × 32 > 4096
        store.Bind(part, 0, 10);
        Assert.Throws<IotOta.DeviceFirmware.Ports.FlashException>(() => store.WritePiece(8, Hashes(3, 1), 0, 3));
        Assert.False(store.Matches(10, Hashes(1, 1), 0));
        store.Unbind();
        Assert.Equal(0, store.Count);
        Assert.False(store.IsPresent(0));
    }
}
