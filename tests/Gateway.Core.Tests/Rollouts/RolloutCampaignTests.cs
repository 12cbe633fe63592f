using IotOta.Gateway.Core.Tests.Support;
using IotOta.Gateway.Images;
using IotOta.Gateway.Rollouts;
using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Core.Tests.Rollouts;

/// <summary>A campaign's phases, gates, pause/resume/abort and stored state, on the fake broker port and a fake clock.</summary>
public sealed class RolloutCampaignTests
{
    private sealed class CountingStore : IRolloutStore
    {
        private readonly InMemoryRolloutStore _inner = new();
        public readonly List<string> States = new();

        public void Add(Rollout rollout) => _inner.Add(rollout);
        public Rollout? Get(string id) => _inner.Get(id);
        public IReadOnlyList<Rollout> List() => _inner.List();
        public void Update(Rollout rollout) => States.Add(rollout.State);
    }

    private static (Rollout Rollout, RolloutCampaign Campaign, CountingStore Store) Campaign(NodeHarness h, FirmwareImage image, int timeoutSeconds = 60)
    {
        var r = new Rollout
        {
            Id = "r1", ImageId = image.ImageId.ToString("x8"), Version = image.Version.ToString(), Groups = [],
            TimeoutSeconds = timeoutSeconds, SuccessThreshold = 1.0, MaxFailures = 0, InstallTimeoutSeconds = 300,
        };
        var store = new CountingStore();
        store.Add(r);
        var c = new RolloutCampaign(r, image, h.Node, store, new RolloutCampaignOptions { Time = h.Time });
        return (r, c, store);
    }

    private static void Start(RolloutCampaign c, params uint[][] phases)
    {
        var plan = phases.Select((p, i) => new RolloutPhase($"phase {i + 1}", p, TakesLateJoiners: i == phases.Length - 1)).ToList();
        c.Start(plan.Select(p => (IReadOnlyList<int>)[1]).ToList(), plan, phases.SelectMany(p => p).ToList());
    }

    private static bool Manifested(NodeHarness h, uint node, FirmwareImage image) =>
        h.Broker.To(Topics.DeviceIn(node)).Any(b => b.AsSpan().SequenceEqual(image.ManifestBytes));

    [Fact]
    public async Task A_canary_phase_hands_over_when_its_devices_run_the_image_and_the_last_phase_completes_the_rollout()
    {
        await using var h = await NodeHarness.StartAsync();
        await h.JoinAsync(3, 1);
        var image = NodeHarness.Image();
        var (r, c, store) = Campaign(h, image);
        Start(c, [1], [2, 3]);
        Assert.Equal(RolloutStates.Running, r.State);
        Assert.Equal(h.Time.GetUtcNow(), r.StartedAt);

        // phase 1: only the canary gets the manifest (on its own topic)
        await h.PumpUntilAsync(() => Manifested(h, 1, image));
        Assert.False(Manifested(h, 2, image));
        h.Updated(1, image);
        // phase 2 starts by itself once the canary runs the image
        await h.PumpUntilAsync(() => Manifested(h, 2, image) && Manifested(h, 3, image));
        Assert.Equal(1, r.Phase);
        h.Updated(2, image);
        h.Updated(3, image);
        var lastUpdate = h.Time.GetUtcNow();
        await h.PumpUntilAsync(() => RolloutStates.IsTerminal(r.State));

        Assert.Equal(RolloutStates.Completed, r.State);
        Assert.Equal(2, r.PhaseResults.Count);
        Assert.True(r.PhaseResults[0].PhasePassed);
        // the campaign ends on its own task: the pump may move the clock once more before it sees the state
        Assert.InRange(r.EndedAt!.Value, lastUpdate, h.Time.GetUtcNow());
        Assert.Equal(RolloutStates.Completed, store.States.Last());
    }

    [Fact]
    public async Task Pause_holds_the_running_phase_resume_goes_on_and_abort_ends_it()
    {
        await using var h = await NodeHarness.StartAsync();
        await h.JoinAsync(2, 1);
        var image = NodeHarness.Image();
        var (r, c, store) = Campaign(h, image);
        Assert.False(c.Pause()); // not started: nothing to pause
        Start(c, [1, 2]);
        await h.PumpUntilAsync(() => h.Node.CurrentRollout != null);
        Assert.True(c.Pause());
        Assert.False(c.Pause());
        Assert.Equal(RolloutStates.Paused, r.State);
        int before = h.Originals().Count;
        await h.AdvanceAsync(TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(50));
        Assert.Equal(before, h.Originals().Count);
        Assert.True(c.Resume());
        Assert.Equal(RolloutStates.Running, r.State);
        await h.PumpUntilAsync(() => h.Originals().Count == image.ChunkCount);
        c.Abort();
        await h.PumpUntilAsync(() => RolloutStates.IsTerminal(r.State));
        await r.Runner!;
        Assert.Equal(RolloutStates.Aborted, r.State);
        Assert.Equal("aborted by the operator", r.Message);
        Assert.Equal([RolloutStates.Running, RolloutStates.Running, RolloutStates.Paused, RolloutStates.Running, RolloutStates.Aborted], store.States);
    }

    [Fact]
    public async Task A_phase_that_times_out_fails_the_rollout_with_the_reason()
    {
        await using var h = await NodeHarness.StartAsync();
        await h.JoinAsync(2, 1);
        var image = NodeHarness.Image();
        var (r, c, _) = Campaign(h, image, timeoutSeconds: 5);
        Start(c, [1, 2]);
        await h.PumpUntilAsync(() => RolloutStates.IsTerminal(r.State), step: TimeSpan.FromMilliseconds(100));
        Assert.Equal(RolloutStates.Failed, r.State);
        Assert.StartsWith("phase 1 of 1 (phase 1) timed out with 0/2 updated", r.Message);
        Assert.True(Assert.Single(r.PhaseResults).TimedOut);
    }

    [Fact]
    public async Task The_window_opens_with_the_last_phase_pauses_move_its_end_and_the_end_is_in_the_stored_state()
    {
        await using var h = await NodeHarness.StartAsync();
        await h.JoinAsync(2, 1);
        var image = NodeHarness.Image();
        var r = new Rollout
        {
            Id = "r1", ImageId = image.ImageId.ToString("x8"), Version = image.Version.ToString(), Groups = [],
            TimeoutSeconds = 60, SuccessThreshold = 1.0, InstallTimeoutSeconds = 300, WindowSeconds = 90,
        };
        var store = new CountingStore();
        store.Add(r);
        var c = new RolloutCampaign(r, image, h.Node, store, new RolloutCampaignOptions { Time = h.Time });
        var start = h.Time.GetUtcNow();
        Start(c, [1, 2]);
        await h.PumpUntilAsync(() => h.Node.CurrentRollout != null);
        var end = r.WindowEndsAt!.Value;                 // opened as the (only, so last) phase started
        Assert.InRange((end - start).TotalSeconds, 90, 90.5);
        Assert.Equal(end, r.ToPersisted().WindowEndsAt);
        Assert.Equal(90, r.ToPersisted().WindowSeconds);
        Assert.True(c.Pause());
        Assert.Equal(h.Time.GetUtcNow(), r.ToPersisted().PausedAt);
        await h.AdvanceAsync(TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(100));
        var paused = h.Time.GetUtcNow() - r.PausedAt!.Value;
        Assert.True(c.Resume());
        Assert.Null(r.PausedAt);
        Assert.Equal(end + paused, r.WindowEndsAt); // paused time does not count
        c.Abort();
        await h.PumpUntilAsync(() => RolloutStates.IsTerminal(r.State));
    }

    [Fact]
    public async Task A_rollout_resumed_after_a_restart_keeps_its_window_end_instead_of_a_new_window()
    {
        await using var h = await NodeHarness.StartAsync();
        await h.JoinAsync(2, 1);
        h.Presence(3, 1, online: false); // a target that is offline: pending until the window ends
        var image = NodeHarness.Image();
        var now = h.Time.GetUtcNow();
        // As stored by a gateway that died 80 s into a 90 s window (and as read back from the database).
        var stored = new PersistedRollout("r1", image.ImageId.ToString("x8"), image.Version.ToString(), [1], 0, 0, 600, now - TimeSpan.FromSeconds(80),
            RolloutStates.Running, now - TimeSpan.FromSeconds(80), null, null, [[1]], 0, [1, 2, 3], WindowSeconds: 90,
            WindowEndsAt: now + TimeSpan.FromSeconds(10));
        var r = Rollout.FromPersisted(stored);
        var store = new CountingStore();
        store.Add(r);
        new RolloutCampaign(r, image, h.Node, store, new RolloutCampaignOptions { Time = h.Time }).Resume(0);
        await h.PumpUntilAsync(() => h.Node.CurrentRollout != null);
        h.Updated(1, image);
        h.Updated(2, image);
        await h.PumpUntilAsync(() => RolloutStates.IsTerminal(r.State), step: TimeSpan.FromMilliseconds(100), maxSteps: 1000);
        // ended when the stored window ended (10 s after the restart), not 90 s after it
        Assert.Equal(RolloutStates.EndedWithPending, r.State);
        Assert.InRange((r.EndedAt!.Value - now).TotalSeconds, 10, 11);
        Assert.Equal(now + TimeSpan.FromSeconds(10), r.WindowEndsAt);
        Assert.Equal(3u, Assert.Single(r.PendingDevices).NodeId);
    }
}
