using IotOta.Gateway.Core.Tests.Support;
using IotOta.Gateway.Fleet;
using IotOta.Gateway.Images;
using IotOta.Gateway.Rollouts;
using IotOta.Gateway.Scheduling;
using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Core.Tests.Rollouts.Run;

/// <summary>A phase resumed by a restarted gateway plans nothing until the online targets told what they hold (or the
/// settle time passed): the devices may hold much of the image, and an original sent before their report is a re-send.</summary>
public sealed class ReconnectSettlingTests
{
    private static RolloutOptions Options(bool resumed) => new()
    {
        Timeout = TimeSpan.FromMinutes(5),
        Scheduler = new SchedulerOptions { PriorForwardRate = 1_000_000 },
        ReconnectSettle = TimeSpan.FromSeconds(3),
        Resumed = resumed,
    };

    [Fact]
    public async Task A_resumed_phase_sends_no_original_before_the_devices_reported_and_none_of_what_they_hold()
    {
        await using var h = await NodeHarness.StartAsync();
        await h.JoinAsync(3, 1);
        FirmwareImage image = NodeHarness.Image();
        var run = h.Node.RunRolloutAsync(image, Options(resumed: true), null, CancellationToken.None);
        await h.AdvanceAsync(TimeSpan.FromMilliseconds(500), TimeSpan.FromMilliseconds(50));
        Assert.Empty(h.Originals());
        // every device holds packet 0 and 1 already
        foreach (uint node in new uint[] { 1, 2, 3 })
            h.Progress(node, image, DeviceState.Receiving, NodeHarness.Old, new[] { 0, 1 });
        await h.PumpUntilAsync(() => h.Originals().Count > 0);
        Assert.DoesNotContain(h.Originals(), p => p.Packet.Index is 0 or 1);
        _ = run;
    }

    [Fact]
    public async Task A_fresh_rollout_plans_at_once()
    {
        await using var h = await NodeHarness.StartAsync();
        await h.JoinAsync(3, 1);
        FirmwareImage image = NodeHarness.Image();
        DateTimeOffset start = h.Time.GetUtcNow();
        var run = h.Node.RunRolloutAsync(image, Options(resumed: false), null, CancellationToken.None);
        await h.PumpUntilAsync(() => h.Originals().Count > 0);
        Assert.True(h.Time.GetUtcNow() - start < TimeSpan.FromSeconds(3), "a fresh rollout does not wait for reports");
        _ = run;
    }
}
