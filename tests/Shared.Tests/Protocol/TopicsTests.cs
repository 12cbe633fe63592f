using FsCheck.Xunit;
using IotOta.Shared.Protocol;

namespace IotOta.Shared.Tests.Protocol;

public class TopicsTests
{
    [Fact]
    public void Topic_names()
    {
        Assert.Equal("iotota/rollout/manifest", Topics.Manifest);
        Assert.Equal("iotota/dev/42/in", Topics.DeviceIn(42));
        Assert.Equal("iotota/dev/42/out", Topics.DeviceOut(42));
        Assert.Equal("iotota/dev/42/status", Topics.DeviceStatus(42));
        Assert.Equal("iotota/grp/7/members", Topics.GroupMembers(7));
        Assert.Equal("iotota/dev/+/out", Topics.AllDeviceOut);
        Assert.Equal("iotota/dev/+/status", Topics.AllDeviceStatus);
        Assert.StartsWith(Topics.Root + "/", Topics.Manifest);
    }

    [Theory]
    [InlineData(1u)]
    [InlineData(42u)]
    [InlineData(999_999_999u)]
    [InlineData(1_000_000_000u)]
    [InlineData(uint.MaxValue)]
    public void NodeIdOf_reads_back_every_device_topic(uint id)
    {
        Assert.Equal(id, Topics.NodeIdOf(Topics.DeviceIn(id)));
        Assert.Equal(id, Topics.NodeIdOf(Topics.DeviceOut(id)));
        Assert.Equal(id, Topics.NodeIdOf(Topics.DeviceStatus(id)));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("iotota/dev/")]
    [InlineData("iotota/dev//out")]
    [InlineData("iotota/dev/+/out")]
    [InlineData("iotota/dev/12a/out")]
    [InlineData("iotota/dev/-1/out")]
    [InlineData("iotota/dev/4294967296/out")]     // uint.MaxValue + 1
    [InlineData("iotota/dev/9999999999/out")]
    [InlineData("iotota/dev/12345678901/out")]   // 11 digits
    [InlineData("iotota/grp/12/members")]
    [InlineData("iotota/rollout/manifest")]
    [InlineData("other/dev/12/out")]
    [InlineData("IOTOTA/dev/12/out")]
    public void NodeIdOf_returns_zero_for_other_topics(string? topic)
    {
        Assert.Equal(0u, Topics.NodeIdOf(topic!));
    }

    [Property]
    public bool NodeIdOf_round_trips(uint id) => Topics.NodeIdOf(Topics.DeviceOut(id)) == id;

    [Property]
    public bool NodeIdOf_never_throws(string? topic)
    {
        Topics.NodeIdOf(topic!);
        Topics.NodeIdOf("iotota/dev/" + topic);
        return true;
    }
}
