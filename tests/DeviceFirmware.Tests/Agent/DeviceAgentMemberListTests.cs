using IotOta.DeviceFirmware.Tests.Support;
using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Tests.Agent;

/// <summary>What a restart keeps (issue #15): the member list, from flash, without the broker sending it again.</summary>
public class DeviceAgentMemberListTests
{    [Fact]
    public void After_a_restart_the_member_list_comes_from_flash_and_a_kept_session_is_not_asked_for_it_again()
    {
        using var d = new DeviceHarness(nodeId: 2, groupId: 1);
        d.Agent.OnConnected();
        d.TreeMembers(2, 1, 2, 3, 4);
        int subscribes = d.Mqtt.Subscriptions.Count(t => t == Topics.GroupMembers(1));
        Assert.Equal(1, subscribes);
        d.RestartKeepingSession();
        Assert.Equal(4, d.Agent.MemberCount);
        // no SUBSCRIBE: the broker would have sent the retained list (1.1 KB at 111 members) to every restarted device
        Assert.Equal(subscribes, d.Mqtt.Subscriptions.Count(t => t == Topics.GroupMembers(1)));
        // a power cycle (a new, clean session) subscribes again, and still starts with the kept list
        d.Reboot();
        d.Agent.OnConnected();
        Assert.Equal(4, d.Agent.MemberCount);
        Assert.Contains(Topics.GroupMembers(1), d.Mqtt.Subscriptions);
    }
}
