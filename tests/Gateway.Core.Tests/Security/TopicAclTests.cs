using IotOta.Gateway.Security;
using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Core.Tests.Security;

public class TopicAclTests
{
    private static readonly MqttIdentity Dev5 = MqttIdentity.Device(5, 2);
    private static readonly MqttIdentity Gateway = MqttIdentity.Gateway();
    private static readonly MqttIdentity Monitor = MqttIdentity.Monitor();

    [Fact]
    public void A_device_publishes_only_its_own_out_and_status_topics()
    {
        Assert.True(TopicAcl.MayPublish(Dev5, Topics.DeviceOut(5)));
        Assert.True(TopicAcl.MayPublish(Dev5, Topics.DeviceStatus(5)));
        Assert.False(TopicAcl.MayPublish(Dev5, Topics.DeviceOut(6)));
        Assert.False(TopicAcl.MayPublish(Dev5, Topics.DeviceStatus(6)));
        Assert.False(TopicAcl.MayPublish(Dev5, Topics.DeviceOut(55)));
        Assert.False(TopicAcl.MayPublish(Dev5, Topics.DeviceIn(5)));
    }

    [Fact]
    public void A_device_never_publishes_on_gateway_topics()
    {
        Assert.False(TopicAcl.MayPublish(Dev5, Topics.DeviceIn(6)));
        Assert.False(TopicAcl.MayPublish(Dev5, Topics.GroupManifest(2)));
        Assert.False(TopicAcl.MayPublish(Dev5, Topics.GroupMembers(2)));
        Assert.False(TopicAcl.MayPublish(Dev5, Topics.Manifest));
        Assert.False(TopicAcl.MayPublish(Dev5, "iotota/dev/5/out/extra"));
    }

    [Fact]
    public void A_device_reads_its_own_in_topic_and_only_its_groups_topics()
    {
        Assert.True(TopicAcl.MaySubscribe(Dev5, Topics.DeviceIn(5)));
        Assert.True(TopicAcl.MaySubscribe(Dev5, Topics.GroupManifest(2)));
        Assert.True(TopicAcl.MaySubscribe(Dev5, Topics.GroupMembers(2)));
        Assert.True(TopicAcl.MaySubscribe(Dev5, Topics.GroupTree(2)));
        Assert.False(TopicAcl.MaySubscribe(Dev5, Topics.GroupTree(3)));
        Assert.False(TopicAcl.MayPublish(Dev5, Topics.GroupTree(2)));
        Assert.False(TopicAcl.MaySubscribe(Dev5, Topics.GroupManifest(3)));
        Assert.False(TopicAcl.MaySubscribe(Dev5, Topics.GroupMembers(1)));
        Assert.False(TopicAcl.MaySubscribe(Dev5, Topics.DeviceIn(6)));
        Assert.False(TopicAcl.MaySubscribe(Dev5, Topics.AllDeviceOut));
    }

    [Theory]
    [InlineData("iotota/#")]
    [InlineData("#")]
    [InlineData("iotota/dev/+/in")]
    [InlineData("iotota/grp/+/manifest")]
    [InlineData("iotota/dev/5/#")]
    [InlineData("iotota/grp/2/#")]
    public void Wildcard_subscriptions_wider_than_a_devices_grants_are_refused(string filter) =>
        Assert.False(TopicAcl.MaySubscribe(Dev5, filter));

    [Fact]
    public void The_gateway_publishes_originals_manifests_and_member_lists_and_reads_device_reports()
    {
        Assert.True(TopicAcl.MayPublish(Gateway, Topics.DeviceIn(123456)));
        Assert.True(TopicAcl.MayPublish(Gateway, Topics.GroupManifest(7)));
        Assert.True(TopicAcl.MayPublish(Gateway, Topics.GroupMembers(7)));
        Assert.True(TopicAcl.MayPublish(Gateway, Topics.GroupTree(7)));
        Assert.True(TopicAcl.MaySubscribe(Gateway, Topics.AllDeviceOut));
        Assert.True(TopicAcl.MaySubscribe(Gateway, Topics.AllDeviceStatus));
        Assert.True(TopicAcl.MaySubscribe(Gateway, Topics.DeviceOut(9)));
        // it does not speak for a device
        Assert.False(TopicAcl.MayPublish(Gateway, Topics.DeviceOut(9)));
        Assert.False(TopicAcl.MayPublish(Gateway, Topics.DeviceStatus(9)));
        Assert.False(TopicAcl.MaySubscribe(Gateway, "iotota/#"));
    }

    [Fact]
    public void A_monitor_reads_everything_and_publishes_nothing()
    {
        Assert.True(TopicAcl.MaySubscribe(Monitor, "iotota/#"));
        Assert.True(TopicAcl.MaySubscribe(Monitor, Topics.GroupManifest(1)));
        Assert.False(TopicAcl.MaySubscribe(Monitor, "#"));
        Assert.False(TopicAcl.MayPublish(Monitor, Topics.DeviceOut(1)));
        Assert.False(TopicAcl.MayPublish(Monitor, Topics.GroupManifest(1)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("iotota/dev/+/out")]
    [InlineData("iotota/dev/#")]
    public void Publishing_to_an_empty_or_wildcard_topic_is_refused(string topic)
    {
        Assert.False(TopicAcl.MayPublish(Gateway, topic));
        Assert.False(TopicAcl.MayPublish(Dev5, topic));
    }

    [Theory]
    [InlineData("a/b", "a/b", true)]
    [InlineData("a/b", "a/c", false)]
    [InlineData("a/+", "a/b", true)]
    [InlineData("a/+", "a/b/c", false)]
    [InlineData("a/+", "a/+", true)]
    [InlineData("a/+", "a/#", false)]
    [InlineData("a/#", "a", true)]
    [InlineData("a/#", "a/b/c", true)]
    [InlineData("a/#", "a/#", true)]
    [InlineData("a/b", "a/+", false)]
    [InlineData("a/b/c", "a/b", false)]
    [InlineData("a/#", "b", false)]
    public void Covers_follows_mqtt_wildcards_with_requested_wildcards_taken_literally(string grant, string requested, bool expected) =>
        Assert.Equal(expected, TopicAcl.Covers(grant, requested));

    [Fact]
    public void Device_identities_reject_node_zero_and_names_reject_separators()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => MqttIdentity.Device(0, 1));
        Assert.Throws<ArgumentException>(() => MqttIdentity.Gateway("gate:way"));
        Assert.Throws<ArgumentException>(() => MqttIdentity.Gateway("a/b"));
        Assert.Throws<ArgumentException>(() => MqttIdentity.Monitor(""));
        Assert.Equal("dev-42", MqttIdentity.Device(42, 1).Username);
    }
}
