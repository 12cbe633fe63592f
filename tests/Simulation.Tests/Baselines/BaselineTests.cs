using IotOta.Gateway.Fleet;
using IotOta.Gateway.Rollouts;
using IotOta.Shared.Protocol;
using IotOta.Simulation.Baselines;

namespace IotOta.Simulation.Tests.Baselines;

/// <summary>What each benchmark baseline publishes, and whose repairs the gateway answers under it.</summary>
public sealed class BaselineTests
{
    private static readonly IReadOnlyList<FleetMember> Fleet =
    [
        new(4, 2, 0, 0), new(1, 1, 0, 0), new(3, 1, 0, 0), new(2, 2, 0, 0),
    ];

    [Fact]
    public void Unicast_sends_every_packet_to_every_device()
    {
        var sends = new UnicastBaseline().Sends(Fleet, 2).ToList();
        Assert.Equal(8, sends.Count);
        Assert.Equal([(Topics.DeviceIn(1), 0), (Topics.DeviceIn(2), 0), (Topics.DeviceIn(3), 0), (Topics.DeviceIn(4), 0)], sends.Take(4));
    }

    [Fact]
    public void Group_fanout_publishes_each_packet_once_per_group_topic()
    {
        var sends = new GroupFanoutBaseline().Sends(Fleet, 2).ToList();
        Assert.Equal([("iotota/bench/group/1/data", 0), ("iotota/bench/group/2/data", 0), ("iotota/bench/group/1/data", 1), ("iotota/bench/group/2/data", 1)], sends);
    }

    [Fact]
    public void A_device_reads_its_stream_on_its_in_topic_or_under_group_fanout_on_its_groups_data_topic()
    {
        IBaselineStrategy unicast = new UnicastBaseline(), fanout = new GroupFanoutBaseline(), gossip = new GossipBaseline();
        Assert.Equal(Topics.DeviceIn(3), unicast.StreamOf(3, 1));
        Assert.Equal(Topics.DeviceIn(3), gossip.StreamOf(3, 1));
        Assert.Equal("iotota/bench/group/1/data", fanout.StreamOf(3, 1));
        Assert.Contains(fanout.Sends(Fleet, 1), s => s.Topic == fanout.StreamOf(2, 2));
    }

    [Fact]
    public async Task Group_fanout_paces_each_publish_by_what_the_broker_sends_its_members()
    {
        var charged = new List<int>();
        var fanout = new GroupFanoutBaseline((n, _) => { charged.Add(n); return Task.CompletedTask; });
        var sends = fanout.Sends([.. Fleet, new FleetMember(5, 1, 0, 0)], 1).ToList();
        foreach (var (topic, _) in sends) await fanout.PaceAsync(topic, 1000, CancellationToken.None);
        string g1 = "iotota/bench/group/1/data", g2 = "iotota/bench/group/2/data";
        Assert.Equal([3 * (1000 + g1.Length + GroupFanoutBaseline.PublishFraming), 2 * (1000 + g2.Length + GroupFanoutBaseline.PublishFraming)], charged);
        Assert.True(((IBaselineStrategy)new UnicastBaseline()).PaceAsync(Topics.DeviceIn(1), 1000, CancellationToken.None).IsCompleted); // no broker copies: no wait
        Assert.Equal(0, new GroupFanoutBaseline().FanoutBytes("iotota/bench/group/9/data", 1000)); // a topic it never sent on
    }

    [Fact]
    public void Gossip_feeds_one_seed_per_group_and_answers_only_the_seeds_repairs()
    {
        var gossip = new GossipBaseline();
        var sends = gossip.Sends(Fleet, 3).ToList();
        Assert.Equal(6, sends.Count);
        Assert.All(sends, s => Assert.Contains(s.Topic, new[] { Topics.DeviceIn(1), Topics.DeviceIn(2) }));
        Assert.True(gossip.AnswersRepairsOf(1));
        Assert.True(gossip.AnswersRepairsOf(2));
        Assert.False(gossip.AnswersRepairsOf(3));
    }

    [Fact]
    public void Names_map_to_the_strategies_and_an_unknown_name_is_refused()
    {
        Assert.Null(Baseline.Named("iotota"));
        Assert.IsType<UnicastBaseline>(Baseline.Named("unicast"));
        Assert.IsType<GroupFanoutBaseline>(Baseline.Named("group-fanout"));
        Assert.IsType<GossipBaseline>(Baseline.Named("gossip"));
        Assert.Contains("bogus", Assert.Throws<ArgumentException>(() => Baseline.Named("bogus")).Message);
    }
}
