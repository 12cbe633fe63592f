using IotOta.Gateway.Fleet;
using IotOta.Gateway.Images;
using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Core.Tests.Images;

public class ImageFitTests
{
    private static DeviceRecord D(uint node, DeviceCapabilities? caps) =>
        new(node, 1, 0x0100007F, 5000, true, new FirmwareVersion(1, 0, 0), DeviceState.Idle, DateTimeOffset.UnixEpoch, 0, 0, 0, caps);

    private static readonly DeviceCapabilities DevkitC = new(786432, 2048, true, 64);
    private static readonly DeviceCapabilities S3 = new(1048576, 4096, true, 128);

    [Fact]
    public void An_image_that_fits_every_target_passes()
    {
        Assert.Null(ImageFit.Problem(700_000, 2048, [D(1, DevkitC), D(2, S3)]));
    }

    [Fact]
    public void An_image_larger_than_one_boards_slot_is_refused_naming_the_devices_and_the_slot()
    {
        string? why = ImageFit.Problem(900_000, 2048, [D(1, DevkitC), D(2, S3), D(3, DevkitC)]);
        Assert.NotNull(why);
        Assert.Contains("900000 bytes does not fit the update slot of 2 devices (1, 3)", why);
        Assert.Contains("786432", why);
        Assert.DoesNotContain("chunk", why);
    }

    [Fact]
    public void A_chunk_larger_than_a_devices_max_chunk_is_refused()
    {
        string? why = ImageFit.Problem(500_000, 4096, [D(1, DevkitC), D(2, S3)]);
        Assert.Equal("its chunk size 4096 exceeds the max chunk of device 1 (2048 bytes)", why);
    }

    [Fact]
    public void Devices_that_announced_no_capabilities_are_not_judged()
    {
        Assert.Null(ImageFit.Problem(64 * 1024 * 1024, 65536, [D(1, null)]));
    }

    [Fact]
    public void Many_devices_are_listed_up_to_eight()
    {
        var targets = Enumerable.Range(1, 12).Select(i => D((uint)i, DevkitC)).ToList();
        string why = ImageFit.Problem(1_000_000, 2048, targets)!;
        Assert.Contains("12 devices (1, 2, 3, 4, 5, 6, 7, 8 and 4 more)", why);
    }
}
