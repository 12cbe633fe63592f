using IotOta.TestSupport;
using IotOta.VirtualDevice.Flash;
using IotOta.VirtualDevice.Tests.Support;

namespace IotOta.VirtualDevice.Tests.Flash;

public sealed class VirtualFlashLayoutTests
{
    [Fact]
    public void Layout_has_aligned_non_overlapping_partitions()
    {
        using var dir = new TempDir();
        using var layout = new VirtualFlashLayout(dir.File("dev.bin"), slotSize: 100_000, updateStateSize: 10_000);
        var boot = (FlashPartition)layout.BootData;
        var state = (FlashPartition)layout.UpdateState;
        var a = (FlashPartition)layout.Slot(0);
        var b = (FlashPartition)layout.Slot(1);

        Assert.Equal(0, boot.Offset);
        Assert.Equal((2 + VirtualFlashLayout.MemberSectors) * 4096, boot.Size); // boot record, then the member list
        Assert.Equal(boot.Offset + boot.Size, state.Offset);
        Assert.Equal(3 * 4096, state.Size);      // 10 000 rounded up to sectors
        Assert.Equal(128 * 1024, a.Size);        // 100 000 rounded up to 64 KiB
        Assert.Equal(a.Size, b.Size);
        Assert.Equal(0, a.Offset % (64 * 1024));
        Assert.True(a.Offset >= state.Offset + state.Size);
        Assert.Equal(a.Offset + a.Size, b.Offset);
        Assert.Equal(b.Offset + b.Size, layout.Flash.TotalSize);
        Assert.Same(layout.Flash, a.Flash);
        Assert.Throws<ArgumentOutOfRangeException>(() => layout.Slot(2));
    }

    [Fact]
    public void Default_layout_has_4_MiB_slots()
    {
        using var dir = new TempDir();
        using var layout = new VirtualFlashLayout(dir.File("dev.bin"));
        Assert.Equal(4 * 1024 * 1024, layout.Slot(0).Size);
        Assert.Equal(4 * 1024 * 1024, layout.Slot(1).Size);
        Assert.Equal(256 * 1024, layout.UpdateState.Size);
        byte[] x = { 0x5A };
        layout.Slot(1).Write(layout.Slot(1).Size - 1, x, 0, 1);
        byte[] y = new byte[1];
        layout.Slot(1).Read(layout.Slot(1).Size - 1, y, 0, 1);
        Assert.Equal(0x5A, y[0]);
    }
}
