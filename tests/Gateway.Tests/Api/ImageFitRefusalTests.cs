using IotOta.Gateway.Api;
using IotOta.Gateway.Rollouts;
using IotOta.Gateway.Images;
using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Tests.Api;

/// <summary>The API refuses, before anything is sent, a rollout whose image does not fit its targets (400), and
/// cuts an upload for a known board in that board's chunk size. No broker: devices are fed to the registry.</summary>
public sealed class ImageFitRefusalTests : BrokerlessManager
{
    [Fact]
    public void A_rollout_to_devices_whose_slot_is_too_small_is_refused_with_400()
    {
        Announce(1, 1, 1024 * 1024, 4096);
        Announce(2, 2, 64 * 1024, 4096);
        var img = _manager.AddImage(new byte[100 * 1024], "2.0.0", null, "fw.bin");
        var e = Assert.Throws<ApiProblem>(() => _manager.Create(new CreateRolloutRequest(img.Id)));
        Assert.Equal(400, e.Status);
        Assert.Equal("Image does not fit", e.Title);
        Assert.Equal("the image of 102400 bytes does not fit the update slot of device 2 (slot 65536 bytes; at most 65536 bytes fit)", e.Message);
        Assert.Empty(_manager.Rollouts.List());
        // group 1 alone fits
        var r = _manager.Create(new CreateRolloutRequest(img.Id, [1]));
        Assert.Equal([1], r.Groups);
    }

    [Fact]
    public void A_rollout_whose_chunks_exceed_a_devices_max_chunk_is_refused_with_400()
    {
        Announce(1, 1, 1024 * 1024, 2048);
        var img = _manager.AddImage(new byte[10 * 1024], "2.0.1", null, "fw.bin"); // 4 KiB chunks (default board)
        var e = Assert.Throws<ApiProblem>(() => _manager.Create(new CreateRolloutRequest(img.Id)));
        Assert.Equal(400, e.Status);
        Assert.Contains("chunk size 4096 exceeds the max chunk of device 1 (2048 bytes)", e.Message);
    }

    [Fact]
    public void An_upload_for_a_known_board_is_cut_in_its_chunk_size_and_must_fit_its_slot()
    {
        var ok = _manager.AddImage(new byte[10 * 1024], "2.0.2", "esp32-devkitc", "fw.bin");
        Assert.Equal(2048, ok.ChunkSize);
        Assert.Equal(5, ok.ChunkCount);
        var e = Assert.Throws<ApiProblem>(() => _manager.AddImage(new byte[800 * 1024], "2.0.3", "esp32-devkitc", "fw.bin"));
        Assert.Equal(400, e.Status);
        Assert.Equal("the image of 819200 bytes does not fit board esp32-devkitc's update slot of 786432 bytes", e.Message);
        var other = _manager.AddImage(new byte[10 * 1024], "2.0.4", "my-custom-board", "fw.bin"); // no profile: not judged
        Assert.Equal(4096, other.ChunkSize);
    }
}
