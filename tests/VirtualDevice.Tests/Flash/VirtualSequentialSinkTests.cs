using IotOta.TestSupport;
using IotOta.DeviceFirmware.Ports;
using IotOta.VirtualDevice.Flash;
using IotOta.VirtualDevice.Tests.Support;

namespace IotOta.VirtualDevice.Tests.Flash;

public class VirtualSequentialSinkTests
{
    private static byte[] Bytes(int n, byte v) => Enumerable.Repeat(v, n).ToArray();

    [Fact]
    public void Appends_in_order_and_refuses_anything_else()
    {
        using var dir = new TempDir();
        using var layout = new VirtualFlashLayout(Path.Combine(dir.Path, "f.bin"), 64 * 1024, 8192, 16384);
        Assert.NotNull(layout.Staging);
        Assert.Equal(16384, layout.Staging!.Size);
        var sink = new VirtualSequentialSink(layout);
        Assert.Throws<FlashException>(() => sink.Write(0, Bytes(10, 1), 0, 10)); // before Begin
        sink.Begin(1, 3000);
        sink.Write(0, Bytes(1000, 1), 0, 1000);
        Assert.Equal(1000, sink.NextOffset);
        var e = Assert.Throws<FlashException>(() => sink.Write(2000, Bytes(1000, 3), 0, 1000));
        Assert.Contains("next offset is 0x3E8", e.Message);
        Assert.Throws<FlashException>(() => sink.Write(0, Bytes(1000, 1), 0, 1000)); // no rewrite either
        Assert.Equal(2, sink.OutOfOrderWrites);
        Assert.False(sink.Complete());
        sink.Write(1000, Bytes(1000, 2), 0, 1000);
        sink.Write(2000, Bytes(1000, 3), 0, 1000);
        Assert.Throws<FlashException>(() => sink.Write(3000, Bytes(1, 4), 0, 1)); // past the image
        Assert.True(sink.Complete());
        var back = new byte[3000];
        layout.Slot(1).Read(0, back, 0, 3000);
        Assert.Equal(Bytes(1000, 1).Concat(Bytes(1000, 2)).Concat(Bytes(1000, 3)).ToArray(), back);
    }

    [Fact]
    public void Resume_cleans_a_torn_write_past_the_offset_and_keeps_the_bytes_before_it()
    {
        using var dir = new TempDir();
        using var layout = new VirtualFlashLayout(Path.Combine(dir.Path, "f.bin"), 64 * 1024, 8192);
        Assert.Null(layout.Staging);
        var sink = new VirtualSequentialSink(layout);
        sink.Begin(0, 10000);
        sink.Write(0, Bytes(5000, 7), 0, 5000);
        layout.Flash.PowerCut = op => op.Kind == FlashOpKind.Write;
        Assert.Throws<PowerCutException>(() => sink.Write(5000, Bytes(2000, 8), 0, 2000));
        layout.Flash.PowerCut = null;
        var again = new VirtualSequentialSink(layout);
        Assert.True(again.Resume(0, 10000, 5000));
        Assert.Equal(5000, again.NextOffset);
        again.Write(5000, Bytes(5000, 9), 0, 5000); // would throw "write without erase" over the torn bytes
        Assert.True(again.Complete());
        var back = new byte[10000];
        layout.Slot(0).Read(0, back, 0, 10000);
        Assert.Equal(Bytes(5000, 7).Concat(Bytes(5000, 9)).ToArray(), back);
        Assert.False(new VirtualSequentialSink(layout) { CanResume = false }.Resume(0, 10000, 5000));
    }
}
