using IotOta.DeviceFirmware.Tests.Support;
using IotOta.Shared.Protocol;
using static IotOta.DeviceFirmware.Tests.Support.Images;

namespace IotOta.DeviceFirmware.Tests.Agent;

public class DeviceAgentForwardingTests
{
    [Fact]
    public void Full_forward_queue_drops_and_counts_but_still_writes()
    {
        using var d = new DeviceHarness(configure: c => c.ForwardQueueCapacity = 2);
        d.Members(1, 1, 2);
        var img = Create(V(1, 1, 0));
        d.Manifest(img);
        d.Original(img, 0);
        d.Original(img, 1);
        d.Original(img, 2);
        Assert.Equal(1, d.Counters.ForwardDrops);
        Assert.Equal(3, d.Agent.HeldCount);
        d.PumpAll();
        Assert.Equal(new[] { 0, 1 }, d.Notices().Select(n => n.Index));
        Assert.Equal(2, d.Peer.Sends.Count);
    }

    [Fact]
    public void Member_list_with_an_older_epoch_is_ignored()
    {
        using var d = new DeviceHarness();
        d.Members(5, 1, 2, 3);
        d.Members(4, 1, 9);
        d.Members(5, 1, 8); // same epoch: ignored too
        Assert.Equal(3, d.Agent.MemberCount);
        var img = Create(V(1, 1, 0));
        d.Manifest(img);
        d.Original(img, 0);
        d.PumpAll();
        Assert.Equal(new[] { DeviceHarness.AddressOf(2), DeviceHarness.AddressOf(3) }, d.Peer.Sends.Select(s => s.Address).OrderBy(s => s));
    }

    [Fact]
    public void Member_list_of_another_group_is_ignored_and_a_newer_one_replaces()
    {
        using var d = new DeviceHarness(groupId: 1);
        d.Members(1, 1, 2);
        d.GroupMembers(2, 9, 1, 5, 6, 7);
        Assert.Equal(2, d.Agent.MemberCount);
        d.Members(2, 1, 3);
        var img = Create(V(1, 1, 0));
        d.Manifest(img);
        d.Original(img, 0);
        d.PumpAll();
        Assert.Equal(DeviceHarness.AddressOf(3), Assert.Single(d.Peer.Sends).Address);
    }

    [Fact]
    public void Original_with_no_members_and_no_relays_is_still_noticed_with_zero_copies()
    {
        using var d = new DeviceHarness();
        var img = Create(V(1, 1, 0));
        d.Manifest(img);
        d.Original(img, 0);
        d.PumpAll();
        Assert.Empty(d.Peer.Sends);
        Assert.Equal(0, Assert.Single(d.Notices()).CopiesSent);
    }

    [Fact]
    public void Relay_target_naming_this_device_itself_is_skipped()
    {
        using var d = new DeviceHarness(nodeId: 1);
        var img = Create(V(1, 1, 0));
        d.Manifest(img);
        d.Original(img, 0, DeviceHarness.Member(1), DeviceHarness.Member(60));
        d.PumpAll();
        Assert.Equal(DeviceHarness.AddressOf(60), Assert.Single(d.Peer.Sends).Address);
    }

    [Fact]
    public void A_new_manifest_drops_queued_forwards_of_the_old_image()
    {
        using var d = new DeviceHarness();
        d.Members(1, 1, 2);
        var a = Create(V(1, 1, 0), seed: 1);
        d.Manifest(a);
        d.Original(a, 0);
        d.Manifest(Create(V(1, 2, 0), seed: 2));
        d.PumpAll();
        Assert.Empty(d.Peer.Sends);
        Assert.Empty(d.Notices());
    }

    [Fact]
    public void Subscribes_and_announces_presence_on_connect()
    {
        using var d = new DeviceHarness(nodeId: 42, groupId: 3);
        d.Agent.OnConnected();
        Assert.Contains(Topics.DeviceIn(42), d.Mqtt.Subscriptions);
        Assert.Contains(Topics.GroupMembers(3), d.Mqtt.Subscriptions);
        Assert.Contains(Topics.GroupManifest(3), d.Mqtt.Subscriptions);
        Assert.DoesNotContain(Topics.Manifest, d.Mqtt.Subscriptions); // only rollouts that target its group reach it
        var status = d.Mqtt.Published.Last(p => p.Topic == Topics.DeviceStatus(42));
        Assert.True(status.Retain);
        var pres = Parsed.Presence(status.Bytes);
        Assert.Equal(42u, pres.NodeId);
        Assert.Equal(3, pres.GroupId);
        Assert.True(pres.Online);
        Assert.Equal(DeviceHarness.PortOf(42), pres.Port);
        Assert.Equal(DeviceHarness.Ip, pres.Ip);
        Assert.True(pres.RunningVersion.SameAs(V(1, 0, 0)));
    }

    [Fact]
    public void Presence_announces_the_member_list_capacity_and_socket_budget_from_its_config()
    {
        using var d = new DeviceHarness(nodeId: 43, groupId: 2, configure: c => { c.MaxMembers = 64; c.MaxPeerConnections = 5; });
        d.Agent.OnConnected();
        var pres = Parsed.Presence(d.Mqtt.Published.Last(p => p.Topic == Topics.DeviceStatus(43)).Bytes);
        Assert.True(pres.HasPeerBudget);
        Assert.Equal(64, pres.MaxMembers);
        Assert.Equal(5, pres.MaxPeerConnections);
    }
}
