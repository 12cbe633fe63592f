using IotOta.Gateway.Fleet;
using IotOta.Shared.Protocol;
using Microsoft.Extensions.Time.Testing;

namespace IotOta.Gateway.Core.Tests.Fleet;

public class DeviceRegistryTests
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero));

    internal static Presence P(uint node, int group = 1, bool online = true, uint ip = 0x0A000001, int port = 5000,
        DeviceState state = DeviceState.Idle, FirmwareVersion? running = null) => new()
    {
        NodeId = node, GroupId = group, Online = online, Ip = ip, Port = port, RunningVersion = running ?? new FirmwareVersion(1, 0, 0), State = state,
    };

    [Fact]
    public void PresenceAddsADeviceAndRaisesMembershipChanged()
    {
        var r = new DeviceRegistry(_clock);
        int membership = 0;
        var updates = new List<DeviceRecord>();
        r.MembershipChanged += () => membership++;
        r.DeviceUpdated += updates.Add;
        r.OnPresence(P(7, group: 3, port: 4242));
        Assert.Equal(1, membership);
        var d = r.Get(7)!;
        Assert.Equal(new FleetMember(7, 3, 0x0A000001, 4242), d.AsMember());
        Assert.True(d.Online);
        Assert.Equal(_clock.GetUtcNow(), d.LastSeen);
        Assert.Single(updates);
    }

    [Fact]
    public void OnlyMembershipRelevantChangesRaiseMembershipChanged()
    {
        var r = new DeviceRegistry(_clock);
        int membership = 0, updated = 0;
        r.MembershipChanged += () => membership++;
        r.DeviceUpdated += _ => updated++;
        r.OnPresence(P(1));
        r.OnPresence(P(1, state: DeviceState.Receiving));   // state only
        Assert.Equal(1, membership);
        r.OnPresence(P(1, online: false));                   // left
        Assert.Equal(2, membership);
        r.OnPresence(P(1, online: true));                    // back
        r.OnPresence(P(1, group: 2));                        // moved group
        r.OnPresence(P(1, group: 2, ip: 0x0A000009));        // new address
        r.OnPresence(P(1, group: 2, ip: 0x0A000009, port: 1)); // new port
        Assert.Equal(6, membership);
        Assert.Equal(7, updated);
    }

    [Fact]
    public void OnlineListsOnlyOnlineDevicesInNodeOrder()
    {
        var r = new DeviceRegistry(_clock);
        r.OnPresence(P(30));
        r.OnPresence(P(10));
        r.OnPresence(P(20, online: false));
        Assert.Equal([10u, 30u], r.Online().Select(d => d.NodeId));
        Assert.Equal([10u, 20u, 30u], r.All().Select(d => d.NodeId));
        Assert.Null(r.Get(99));
    }

    [Fact]
    public void ProgressUpdatesAKnownDeviceAndKeepsItAcrossPresence()
    {
        var r = new DeviceRegistry(_clock);
        r.OnPresence(P(5));
        _clock.Advance(TimeSpan.FromSeconds(10));
        int updated = 0, membership = 0;
        r.DeviceUpdated += _ => updated++;
        r.MembershipChanged += () => membership++;
        r.OnProgress(new ProgressReport { NodeId = 5, ImageId = 77, State = DeviceState.Receiving, RunningVersion = new FirmwareVersion(1, 0, 0), ChunkCount = 40, HeldCount = 12 });
        var d = r.Get(5)!;
        Assert.Equal((77u, 12, 40, DeviceState.Receiving), (d.ImageId, d.HeldCount, d.ChunkCount, d.State));
        Assert.Equal(_clock.GetUtcNow(), d.LastSeen);
        Assert.Equal(1, updated);
        Assert.Equal(0, membership);
        // A later presence keeps the progress figures.
        r.OnPresence(P(5, state: DeviceState.Verifying));
        d = r.Get(5)!;
        Assert.Equal((77u, 12, 40, DeviceState.Verifying), (d.ImageId, d.HeldCount, d.ChunkCount, d.State));
    }

    [Fact]
    public void ProgressFromAnUnknownDeviceIsIgnored()
    {
        var r = new DeviceRegistry(_clock);
        int updated = 0;
        r.DeviceUpdated += _ => updated++;
        r.OnProgress(new ProgressReport { NodeId = 5, ImageId = 1, RunningVersion = new FirmwareVersion(1, 0, 0) });
        Assert.Null(r.Get(5));
        Assert.Empty(r.All());
        Assert.Equal(0, updated);
    }

    /// <summary>Device 5's report on image 77 of 40 packets.</summary>
    private static ProgressReport Report(DeviceState state, FirmwareVersion running, int held) =>
        new() { NodeId = 5, ImageId = 77, State = state, RunningVersion = running, ChunkCount = 40, HeldCount = held };

    [Fact]
    public void A_report_from_a_core_that_no_longer_runs_does_not_set_an_updated_device_back()
    {
        var r = new DeviceRegistry(_clock);
        var old = new FirmwareVersion(1, 0, 0);
        var next = new FirmwareVersion(1, 1, 0);
        r.OnPresence(P(5));
        r.OnProgress(Report(DeviceState.Receiving, old, 39));
        // the new core announces itself; the old core's last report (sent before the install) comes after it
        r.OnPresence(P(5, state: DeviceState.Updated, running: next));
        r.OnProgress(Report(DeviceState.Receiving, old, 40));
        var d = r.Get(5)!;
        Assert.Equal(DeviceState.Updated, d.State);
        Assert.True(d.Version.SameAs(next));
        Assert.Equal(39, d.HeldCount);
        Assert.Equal(1, r.StaleReports);
        // a report of the core that runs is taken
        r.OnProgress(Report(DeviceState.Updated, next, 40));
        Assert.Equal(40, r.Get(5)!.HeldCount);
        Assert.Equal(1, r.StaleReports);
    }

    [Fact]
    public void A_report_of_a_version_not_announced_yet_is_taken_as_the_new_cores_presence_may_come_late()
    {
        var r = new DeviceRegistry(_clock);
        var next = new FirmwareVersion(1, 1, 0);
        r.OnPresence(P(5));
        r.OnProgress(Report(DeviceState.Updated, next, 40));
        var d = r.Get(5)!;
        Assert.Equal(DeviceState.Updated, d.State);
        Assert.True(d.Version.SameAs(next));
        Assert.Equal(0, r.StaleReports);
    }

    [Fact]
    public void The_installing_cores_last_report_does_not_set_back_the_device_whose_new_core_announced_itself()
    {
        var r = new DeviceRegistry(_clock);
        var next = new FirmwareVersion(1, 1, 0);
        r.OnPresence(P(5));
        r.OnPresence(P(5, state: DeviceState.Updated, running: next));
        // encoded after the install switched the boot record: the new version, state Installing; it comes late
        r.OnProgress(Report(DeviceState.Installing, next, 40));
        Assert.Equal(DeviceState.Updated, r.Get(5)!.State);
        Assert.Equal(1, r.StaleReports);
    }
}
