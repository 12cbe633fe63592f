using IotOta.Gateway.Mqtt;
using IotOta.Simulation.Demo;
using Xunit.Abstractions;

namespace IotOta.Integration.Tests.Rollouts;

/// <summary>A mixed-board fleet (board profiles from boards/, sequential In-Field-Update-style sinks with flash staging)
/// completes a rollout, and each board's staging high-water mark stays within its staging capacity.</summary>
[Collection("rollouts")]
public sealed class BoardRolloutTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_mixed_board_fleet_with_sequential_sinks_is_updated()
    {
        var s = await DemoRunner.RunAsync(new DemoOptions
        {
            Devices = 8,
            Groups = 2,
            ImageSize = 128 * 1024,
            Boards = ["esp32-devkitc", "esp32-c3"],
            Timeout = TimeSpan.FromSeconds(90),
        }, null, null, CancellationToken.None);
        foreach (var b in s.Boards) output.WriteLine(b.ToString());
        Assert.False(s.TimedOut);
        Assert.Equal(8, s.Updated);
        Assert.Equal(8, s.SlotsVerified);
        Assert.Equal(2, s.Boards.Count);
        Assert.All(s.Boards, b =>
        {
            Assert.Equal("Sequential", b.SinkMode);
            Assert.Equal(4, b.Devices);
            Assert.Equal(4, b.Updated);
            Assert.Equal(2048, b.ChunkSize);
            Assert.InRange(b.StagingHighWater, 0, b.StagingCapacity);
        });
    }
}
