using IotOta.Gateway.Rollouts;
using IotOta.Shared.Protocol;
using Microsoft.Extensions.Time.Testing;

namespace IotOta.Gateway.Core.Tests.Rollouts;

public class HealthGatePendingTests
{
    [Fact]
    public void A_device_offline_before_it_held_the_whole_image_is_never_counted_as_failed()
    {
        var clock = new FakeTimeProvider();
        var gate = new HealthGate(new HealthPolicy(MaxFailures: 0, InstallTimeout: TimeSpan.FromSeconds(10)), clock);
        var away = new DeviceHealthSample(1, false, DeviceState.Receiving, false, false);
        var updated = new DeviceHealthSample(2, true, DeviceState.Updated, true, true);
        Assert.False(gate.Evaluate([away, updated], []).Pause);
        clock.Advance(TimeSpan.FromHours(23)); // pending for most of a 24 h window
        var v = gate.Evaluate([away, updated], []);
        Assert.False(v.Pause);
        Assert.Equal(0, v.FailedTotal);
        Assert.False(gate.HasFailed(1));
        Assert.False(v.PhasePassed); // it is still owed the image: the phase is not through without it
    }
}
