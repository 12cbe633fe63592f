using IotOta.Gateway.Fleet;
using IotOta.Shared.Protocol;
using Microsoft.Extensions.Time.Testing;
using static IotOta.Gateway.Core.Tests.Fleet.DeviceRegistryTests;

namespace IotOta.Gateway.Core.Tests.Fleet;

public class DestinationListTests
{
    private readonly DeviceRegistry _registry = new(new FakeTimeProvider());
    private readonly List<MemberListUpdate> _published = new();
    private readonly List<IReadOnlyList<FleetMember>> _changes = new();
    private readonly DestinationList _list;

    public DestinationListTests()
    {
        _list = new DestinationList(_registry, (group, bytes) =>
        {
            var u = new MemberListUpdate();
            u.Parse(bytes, 0, bytes.Length);
            Assert.Equal(group, u.GroupId);
            _published.Add(u);
            return Task.CompletedTask;
        });
        _list.Changed += _changes.Add;
    }

    [Fact]
    public async Task FirstRefreshPublishesEveryGroupWithEpochOne()
    {
        _registry.OnPresence(P(3, group: 1, ip: 3, port: 30));
        _registry.OnPresence(P(1, group: 1, ip: 1, port: 10));
        _registry.OnPresence(P(2, group: 2, ip: 2, port: 20));
        await _list.RefreshAsync();
        Assert.Equal(2, _published.Count);
        var g1 = _published.Single(u => u.GroupId == 1);
        Assert.Equal(1u, g1.Epoch);
        Assert.Equal(2, g1.Count);
        Assert.Equal([1u, 3u], g1.NodeIds.Take(2));
        Assert.Equal([1u, 3u], g1.Ips.Take(2));
        Assert.Equal([10, 30], g1.Ports.Take(2));
        Assert.Equal(1u, _list.EpochOf(2));
        Assert.Equal(0u, _list.EpochOf(9));
        Assert.Equal(3, _list.Members.Count);
        Assert.Single(_changes);
    }

    [Fact]
    public async Task UnchangedRefreshPublishesNothingUnlessForced()
    {
        _registry.OnPresence(P(1, group: 1));
        await _list.RefreshAsync();
        _published.Clear();
        await _list.RefreshAsync();
        Assert.Empty(_published);
        Assert.Single(_changes);
        await _list.RefreshAsync(republishAll: true);
        var u = Assert.Single(_published);
        Assert.Equal(1u, u.Epoch); // same membership, same epoch
        Assert.Single(_changes);   // not a change
    }

    [Fact]
    public async Task JoinAndLeaveBumpOnlyTheAffectedGroup()
    {
        _registry.OnPresence(P(1, group: 1));
        _registry.OnPresence(P(2, group: 2));
        await _list.RefreshAsync();
        _published.Clear();
        _registry.OnPresence(P(3, group: 2));
        await _list.RefreshAsync();
        var u = Assert.Single(_published);
        Assert.Equal((2, 2u, 2), (u.GroupId, u.Epoch, u.Count));
        Assert.Equal(1u, _list.EpochOf(1));
        _published.Clear();
        _registry.OnPresence(P(2, group: 2, online: false));
        await _list.RefreshAsync();
        u = Assert.Single(_published);
        Assert.Equal((2, 3u, 1), (u.GroupId, u.Epoch, u.Count));
        Assert.Equal(3u, u.NodeIds[0]);
        Assert.Equal([1u, 3u], _list.Members.Select(m => m.NodeId).OrderBy(n => n));
        Assert.Equal(3, _changes.Count);
    }

    [Fact]
    public async Task AGroupThatEmptiesIsPublishedEmptyOnce()
    {
        _registry.OnPresence(P(1, group: 1));
        _registry.OnPresence(P(2, group: 2));
        await _list.RefreshAsync();
        _published.Clear();
        _registry.OnPresence(P(2, group: 2, online: false));
        await _list.RefreshAsync();
        var u = Assert.Single(_published);
        Assert.Equal((2, 2u, 0), (u.GroupId, u.Epoch, u.Count));
        Assert.DoesNotContain(_list.Members, m => m.NodeId == 2);
        _published.Clear();
        await _list.RefreshAsync();
        Assert.Empty(_published);
        // Coming back continues the epoch.
        _registry.OnPresence(P(2, group: 2));
        await _list.RefreshAsync();
        Assert.Equal(3u, Assert.Single(_published).Epoch);
    }

    [Fact]
    public async Task MovingGroupPublishesBothGroups()
    {
        _registry.OnPresence(P(1, group: 1));
        _registry.OnPresence(P(2, group: 1));
        await _list.RefreshAsync();
        _published.Clear();
        _registry.OnPresence(P(2, group: 5));
        await _list.RefreshAsync();
        Assert.Equal([1, 5], _published.Select(u => u.GroupId).OrderBy(g => g));
        Assert.Equal([1u], _published.Single(u => u.GroupId == 1).NodeIds.Take(1));
        Assert.Equal(1, _published.Single(u => u.GroupId == 1).Count);
        Assert.Equal(new FleetMember(2, 5, 0x0A000001, 5000), _list.Members.Single(m => m.NodeId == 2));
    }
}
