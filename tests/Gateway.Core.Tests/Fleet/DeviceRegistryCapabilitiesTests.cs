using IotOta.Gateway.Fleet;
using IotOta.Shared.Protocol;
using Microsoft.Extensions.Time.Testing;

namespace IotOta.Gateway.Core.Tests.Fleet;

public class DeviceRegistryCapabilitiesTests
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero));

    [Fact]
    public void Presence_with_capabilities_records_the_board_and_a_last_will_keeps_it()
    {
        var r = new DeviceRegistry(_clock);
        var p = DeviceRegistryTests.P(7);
        p.HasCapabilities = true;
        p.SlotSize = 786432;
        p.MaxChunkSize = 2048;
        p.SequentialSink = true;
        p.StagingCapacity = 64;
        r.OnPresence(p);
        Assert.Equal(new DeviceCapabilities(786432, 2048, true, 64), r.Get(7)!.Capabilities);
        r.OnPresence(DeviceRegistryTests.P(7, online: false)); // the last will carries no capabilities
        Assert.False(r.Get(7)!.Online);
        Assert.Equal(new DeviceCapabilities(786432, 2048, true, 64), r.Get(7)!.Capabilities);
    }

    [Fact]
    public void Presence_with_a_peer_budget_records_it_and_one_without_leaves_it_unknown()
    {
        var r = new DeviceRegistry(_clock);
        var p = DeviceRegistryTests.P(9);
        p.HasCapabilities = true;
        p.SlotSize = 786432;
        p.MaxChunkSize = 2048;
        p.HasPeerBudget = true;
        p.MaxMembers = 64;
        p.MaxPeerConnections = 6;
        r.OnPresence(p);
        Assert.Equal(new DeviceCapabilities(786432, 2048, false, 0, 64, 6), r.Get(9)!.Capabilities);
        p.HasPeerBudget = false; // an older device's presence: capabilities only
        r.OnPresence(p);
        Assert.Null(r.Get(9)!.Capabilities!.MaxMembers);
        Assert.Null(r.Get(9)!.Capabilities!.MaxPeerConnections);
    }

    [Fact]
    public void Presence_without_capabilities_leaves_them_unknown()
    {
        var r = new DeviceRegistry(_clock);
        r.OnPresence(DeviceRegistryTests.P(8));
        Assert.Null(r.Get(8)!.Capabilities);
    }
}
