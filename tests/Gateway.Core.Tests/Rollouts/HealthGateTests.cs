using IotOta.Gateway.Rollouts;
using IotOta.Shared.Protocol;
using Microsoft.Extensions.Time.Testing;

namespace IotOta.Gateway.Core.Tests.Rollouts;

public class HealthGateTests
{
    private static DeviceHealthSample Receiving(uint n) => new(n, true, DeviceState.Receiving, false, false);
    private static DeviceHealthSample Updated(uint n) => new(n, true, DeviceState.Updated, true, true);
    private static DeviceHealthSample HoldsAll(uint n, bool online = true) => new(n, online, DeviceState.Receiving, false, true);
    private static DeviceHealthSample RolledBack(uint n) => new(n, true, DeviceState.RolledBack, false, true);
    private static readonly DeviceHealthSample[] None = [];

    [Fact]
    public void A_phase_passes_at_its_success_threshold()
    {
        var gate = new HealthGate(new HealthPolicy(SuccessThreshold: 0.75), new FakeTimeProvider());
        var v = gate.Evaluate([Updated(1), Updated(2), Receiving(3), Receiving(4)], None);
        Assert.False(v.PhasePassed);
        Assert.Equal(3, v.RequiredUpdated);
        v = gate.Evaluate([Updated(1), Updated(2), Updated(3), Receiving(4)], None);
        Assert.True(v.PhasePassed);
        Assert.False(v.Pause);
    }

    [Fact]
    public void A_rolled_back_device_beyond_the_threshold_pauses_with_a_reason()
    {
        var gate = new HealthGate(new HealthPolicy(MaxFailures: 0), new FakeTimeProvider());
        var v = gate.Evaluate([Updated(1), RolledBack(2)], [Receiving(3)]);
        Assert.True(v.Pause);
        Assert.Equal([2u], v.FailedDevices);
        Assert.Contains("1 device(s) failed (2)", v.Reason);
        Assert.Contains("threshold is 0", v.Reason);
        Assert.False(v.PhasePassed);
        Assert.True(gate.HasFailed(2));
        Assert.False(gate.HasFailed(1));
    }

    [Fact]
    public void Failures_up_to_the_threshold_do_not_pause_and_resuming_acknowledges_them()
    {
        var gate = new HealthGate(new HealthPolicy(MaxFailures: 1), new FakeTimeProvider());
        Assert.False(gate.Evaluate([RolledBack(1), Receiving(2), Receiving(3)], None).Pause);
        Assert.True(gate.Evaluate([RolledBack(1), RolledBack(2), Receiving(3)], None).Pause);
        gate.Acknowledge();
        var v = gate.Evaluate([RolledBack(1), RolledBack(2), Receiving(3)], None);
        Assert.False(v.Pause);
        Assert.Equal(2, v.FailuresAcknowledged);
        // One more is tolerated (MaxFailures 1), a second one pauses again.
        Assert.False(gate.Evaluate([RolledBack(1), RolledBack(2), RolledBack(3)], [Receiving(4)]).Pause);
        Assert.True(gate.Evaluate([RolledBack(1), RolledBack(2), RolledBack(3)], [RolledBack(4)]).Pause);
    }

    [Fact]
    public void Resuming_writes_off_the_acknowledged_failures_of_a_phase()
    {
        var gate = new HealthGate(new HealthPolicy(SuccessThreshold: 1.0, MaxFailures: 0), new FakeTimeProvider());
        var v = gate.Evaluate([RolledBack(1), Updated(2)], None);
        Assert.True(v.Pause);
        Assert.False(v.PhasePassed); // 1 of 2, 2 needed
        gate.Acknowledge();
        v = gate.Evaluate([RolledBack(1), Updated(2)], None);
        Assert.False(v.Pause);
        Assert.Equal(1, v.RequiredUpdated);
        Assert.True(v.PhasePassed);
    }

    [Fact]
    public void A_device_silent_after_install_past_the_timeout_counts_as_failed()
    {
        var clock = new FakeTimeProvider();
        var gate = new HealthGate(new HealthPolicy(InstallTimeout: TimeSpan.FromSeconds(60)), clock);
        Assert.False(gate.Evaluate([HoldsAll(1), Updated(2)], None).Pause); // installing starts the clock
        clock.Advance(TimeSpan.FromSeconds(59));
        Assert.False(gate.Evaluate([HoldsAll(1, online: false), Updated(2)], None).Pause);
        clock.Advance(TimeSpan.FromSeconds(2));
        var v = gate.Evaluate([HoldsAll(1, online: false), Updated(2)], None);
        Assert.True(v.Pause);
        Assert.Equal([1u], v.SilentDevices);
        Assert.Contains("1 silent after install", v.Reason);
        // It turns up confirmed after all: no longer failed.
        v = gate.Evaluate([Updated(1), Updated(2)], None);
        Assert.False(v.Pause);
        Assert.Empty(v.FailedDevices);
        Assert.True(v.PhasePassed);
    }

    [Fact]
    public void A_device_still_receiving_never_times_out()
    {
        var clock = new FakeTimeProvider();
        var gate = new HealthGate(new HealthPolicy(InstallTimeout: TimeSpan.FromSeconds(10)), clock);
        gate.Evaluate([Receiving(1)], None);
        clock.Advance(TimeSpan.FromHours(1));
        var v = gate.Evaluate([Receiving(1)], None);
        Assert.False(v.Pause);
        Assert.Empty(v.FailedDevices);
    }

    [Fact]
    public void An_empty_phase_does_not_pass()
    {
        var gate = new HealthGate(new HealthPolicy(), new FakeTimeProvider());
        Assert.False(gate.Evaluate(None, None).PhasePassed);
    }
}
