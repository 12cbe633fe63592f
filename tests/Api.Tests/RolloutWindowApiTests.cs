using System.Net;
using System.Text.Json.Nodes;

namespace IotOta.Api.Tests;

/// <summary>windowSeconds: a device offline during the rollout is pending (not failed) and listed with when it was last
/// seen; at the window's end the rollout is "ended-with-pending"; a bad window is refused.</summary>
[Collection(ServerCollection.Name)]
public sealed class RolloutWindowApiTests(ServerFixture f)
{
    [Fact]
    public async Task A_device_offline_through_the_window_is_pending_and_the_rollout_ends_with_it_pending()
    {
        var fleet = f.Simulation.Fleet!;
        uint away = fleet.Devices[0].NodeId;
        string version = f.NextVersion();
        await f.UploadAsync(64 * 1024, version, 31);
        var off = fleet.RestartDeviceAsync(0, TimeSpan.FromSeconds(12)); // powered off through the whole window
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while ((await f.GetAsync("/api/devices")).AsArray().Any(d => (uint)d!["nodeId"]! == away && (bool)d["online"]!) && DateTime.UtcNow < deadline)
            await Task.Delay(50);
        DateTimeOffset offAt = DateTimeOffset.UtcNow;

        var r = await f.CreateAsync(new { imageId = version, windowSeconds = 5 });
        Assert.Equal(5, (int)r["windowSeconds"]!);
        string id = (string)r["id"]!;
        var mid = await f.GetAsync($"/api/rollouts/{id}");
        Assert.Equal("running", (string)mid["state"]!);
        var v = await f.WaitEndAsync(id, TimeSpan.FromSeconds(30));
        await off;

        Assert.Equal("ended-with-pending", (string)v["state"]!);
        Assert.Equal(1, (int)v["pending"]!);
        Assert.Equal(0, (int)v["failed"]!);
        Assert.Equal((int)v["devices"]! - 1, (int)v["updated"]!);
        Assert.Contains($"ended with 1 pending: {away} (offline since", (string)v["message"]!);
        var p = Assert.Single(v["deviceProgress"]!.AsArray(), d => (bool)d!["pending"]!)!;
        Assert.Equal(away, (uint)p["nodeId"]!);
        Assert.Equal("Pending", (string)p["state"]!);
        Assert.False((bool)p["online"]!);
        var seen = DateTimeOffset.Parse((string)p["lastSeen"]!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(seen, offAt.AddSeconds(-10), offAt.AddSeconds(1));
        Assert.True((double)v["elapsedSeconds"]! >= 4.5, "the rollout stays open for its window");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(30 * 86_400 + 1)]
    public async Task A_window_out_of_range_is_refused(int seconds)
    {
        string version = f.NextVersion();
        await f.UploadAsync(16 * 1024, version, 32);
        using var res = await f.Http.PostAsync("/api/rollouts", System.Net.Http.Json.JsonContent.Create(new { imageId = version, windowSeconds = seconds }));
        Assert.Equal(HttpStatusCode.BadRequest, res.StatusCode);
        Assert.Contains("windowSeconds must be 1..2592000", await res.Content.ReadAsStringAsync());
    }
}
