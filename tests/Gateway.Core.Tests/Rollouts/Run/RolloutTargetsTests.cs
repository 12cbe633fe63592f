using IotOta.Gateway.Core.Tests.Support;
using IotOta.Gateway.Rollouts;
using IotOta.Gateway.Scheduling;
using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Core.Tests.Rollouts.Run;

/// <summary>Who a rollout waits for: every device the gateway knows online as it starts, also one the paced destination
/// list has not taken back yet.</summary>
public sealed class RolloutTargetsTests
{
    [Fact]
    public async Task A_device_back_online_but_not_yet_on_the_paced_destination_list_is_a_target_the_rollout_waits_for()
    {
        await using var h = await NodeHarness.StartAsync();
        await h.JoinAsync(4, 2);
        // device 4 (group 2) reboots: gone from the destination list, then back online moments before the rollout
        h.Presence(4, 2, online: false);
        await h.PumpUntilAsync(() => h.Node.Destinations.Members.Count == 3);
        h.Presence(4, 2, online: true);
        await Task.Delay(20); // the presence is taken; the list is published only after membership was quiet 500 ms
        Assert.Equal(3, h.Node.Destinations.Members.Count);
        Assert.True(h.Node.Registry.Get(4) is { Online: true });

        var image = NodeHarness.Image();
        var options = new RolloutOptions { Timeout = TimeSpan.FromMinutes(5), Scheduler = new SchedulerOptions { PriorForwardRate = 1_000_000 } };
        var run = h.Node.RunRolloutAsync(image, options, null, CancellationToken.None);
        await h.PumpUntilAsync(() => h.Node.CurrentRollout != null, TimeSpan.FromMilliseconds(1));
        Assert.Equal(4, h.Node.CurrentRollout!.Snapshot().Devices);
        for (uint n = 1; n <= 3; n++) h.Updated(n, image);
        await h.AdvanceAsync(TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(20));
        Assert.False(run.IsCompleted, "the rollout ended while device 4, online, had not been updated");
        Assert.NotEmpty(h.Broker.To(Topics.GroupManifest(2)));
        h.Updated(4, image);
        await h.PumpUntilAsync(() => run.IsCompleted);
        var r = await run;
        Assert.Equal(4, r.Devices);
        Assert.Equal(4, r.Updated);
    }
}
