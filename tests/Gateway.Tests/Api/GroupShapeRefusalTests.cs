using IotOta.Gateway.Api;
using IotOta.Gateway.Rollouts;
using IotOta.Gateway.Images;
using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Tests.Api;

/// <summary>The API refuses, before anything is sent, a rollout to a group larger than its members' lists can name or
/// to a device whose socket budget is too small to take part (issue #14 item 8), from what the devices announced in
/// their presence. No broker: devices are fed to the registry.</summary>
public sealed class GroupShapeRefusalTests : BrokerlessManager
{
    [Fact]
    public void A_group_larger_than_its_members_lists_is_refused_with_400_and_nothing_is_created()
    {
        for (uint n = 1; n <= 3; n++) Announce(n, 1, maxMembers: 2, peers: 6);
        Announce(4, 2, maxMembers: 2, peers: 6);
        var img = _manager.AddImage(new byte[10 * 1024], "2.0.0", null, "fw.bin");
        var e = Assert.Throws<ApiProblem>(() => _manager.Create(new CreateRolloutRequest(img.Id)));
        Assert.Equal(400, e.Status);
        Assert.Equal("Group does not fit", e.Title);
        Assert.Equal("group 1 has 3 members but 3 devices (1, 2, 3) can name at most 2 members in a member list: split the group", e.Message);
        Assert.Empty(_manager.Rollouts.List());
        // group 2 alone fits
        Assert.Equal([2], _manager.Create(new CreateRolloutRequest(img.Id, [2])).Groups);
    }

    [Fact]
    public void Offline_devices_do_not_count_toward_a_groups_size()
    {
        // the member list names online devices only (and records restored from the store may never come back)
        for (uint n = 1; n <= 2; n++) Announce(n, 1, maxMembers: 2, peers: 6);
        Announce(3, 1, maxMembers: 2, peers: 6, online: false);
        var img = _manager.AddImage(new byte[10 * 1024], "2.0.3", null, "fw.bin");
        var r = _manager.Create(new CreateRolloutRequest(img.Id));
        Assert.Equal(RolloutStates.Created, r.State);
    }

    [Fact]
    public void A_device_that_may_hold_one_peer_connection_is_refused()
    {
        Announce(1, 1, maxMembers: 64, peers: 6);
        Announce(2, 1, maxMembers: 64, peers: 1);
        var img = _manager.AddImage(new byte[10 * 1024], "2.0.1", null, "fw.bin");
        var e = Assert.Throws<ApiProblem>(() => _manager.Create(new CreateRolloutRequest(img.Id)));
        Assert.Equal(400, e.Status);
        Assert.Contains("device 2 may hold 1 peer connection(s)", e.Message);
    }

    [Fact]
    public void A_group_that_grew_past_the_limit_after_creation_is_refused_at_start()
    {
        Announce(1, 1, maxMembers: 2, peers: 6);
        Announce(2, 1, maxMembers: 2, peers: 6);
        var img = _manager.AddImage(new byte[10 * 1024], "2.0.2", null, "fw.bin");
        var r = _manager.Create(new CreateRolloutRequest(img.Id));
        Announce(3, 1, maxMembers: 2, peers: 6); // joined since
        var e = Assert.Throws<ApiProblem>(() => _manager.Start(r.Id));
        Assert.Equal(400, e.Status);
        Assert.Equal("group 1 has 3 members but 3 devices (1, 2, 3) can name at most 2 members in a member list: split the group", e.Message);
        Assert.Equal(RolloutStates.Created, _manager.Get(r.Id).State);
    }
}
