using IotOta.DeviceFirmware.Flash;
using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Tests.Flash;

public class BootRecordTests
{
    private static BootRecord Sample() => new()
    {
        Sequence = 41,
        ActiveSlot = 1,
        State = BootState.Trial,
        Version = new FirmwareVersion(2, 3, 4),
        ImageId = 0xDEADBEEF,
        PreviousVersion = new FirmwareVersion(1, 0, 7),
        PreviousImageId = 0x12345679,
    };

    private static byte[] Encode(BootRecord r)
    {
        var b = new byte[BootRecord.EncodedLength + 3];
        r.Encode(b, 3);
        return b;
    }

    [Fact]
    public void Round_trips_every_field_at_an_offset()
    {
        var r = BootRecord.TryDecode(Encode(Sample()), 3);
        Assert.NotNull(r);
        Assert.Equal(41u, r!.Sequence);
        Assert.Equal(1, r.ActiveSlot);
        Assert.Equal(BootState.Trial, r.State);
        Assert.True(r.Version.SameAs(new FirmwareVersion(2, 3, 4)));
        Assert.Equal(0xDEADBEEF, r.ImageId);
        Assert.True(r.PreviousVersion.SameAs(new FirmwareVersion(1, 0, 7)));
        Assert.Equal(0x12345679u, r.PreviousImageId);
    }

    [Fact]
    public void Erased_bytes_are_not_a_record()
    {
        var b = Enumerable.Repeat((byte)0xFF, BootRecord.EncodedLength).ToArray();
        Assert.Null(BootRecord.TryDecode(b, 0));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    [InlineData(12)]
    [InlineData(BootRecord.EncodedLength - 1)]
    public void Any_flipped_bit_is_detected(int at)
    {
        var b = Encode(Sample());
        b[3 + at] ^= 0x04;
        Assert.Null(BootRecord.TryDecode(b, 3));
    }

    [Fact]
    public void Slot_above_one_is_refused_even_with_a_valid_crc()
    {
        var s = Sample();
        s.ActiveSlot = 2;
        Assert.Null(BootRecord.TryDecode(Encode(s), 3));
    }

    [Fact]
    public void Unknown_state_is_refused_even_with_a_valid_crc()
    {
        var s = Sample();
        s.State = (BootState)3;
        Assert.Null(BootRecord.TryDecode(Encode(s), 3));
    }

    [Fact]
    public void Clone_is_independent()
    {
        var a = Sample();
        var c = a.Clone();
        c.ActiveSlot = 0;
        c.State = BootState.Confirmed;
        c.Sequence = 1;
        Assert.Equal(1, a.ActiveSlot);
        Assert.Equal(BootState.Trial, a.State);
        Assert.Equal(41u, a.Sequence);
        Assert.Equal(a.ImageId, c.ImageId);
        Assert.Equal(a.PreviousImageId, c.PreviousImageId);
    }
}
