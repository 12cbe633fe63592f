using IotOta.Gateway.Rollouts;

namespace IotOta.Gateway.Core.Tests.Rollouts;

public class RolloutPhasePlanTests
{
    /// <summary>20 devices, node 1..20, groups round-robin 1..4.</summary>
    private static readonly IReadOnlyList<(uint Node, int Group)> Fleet =
        Enumerable.Range(1, 20).Select(i => ((uint)i, (i - 1) % 4 + 1)).ToList();

    [Fact]
    public void Canary_count_then_percentages_cover_every_device_once_and_spread_over_groups()
    {
        var plan = RolloutPhasePlan.Build(Fleet, new PhasePlanRequest(CanaryCount: 2, Percentages: [10, 50, 100]));
        Assert.Equal(["canary", "50 %", "100 %"], plan.Select(p => p.Name)); // 10 % of 20 = 2: the canary has them
        Assert.Equal([1u, 2u], plan[0].Devices); // one from group 1, one from group 2
        Assert.Equal(8, plan[1].Devices.Count); // up to 10 of 20 in all
        Assert.Equal(10, plan[2].Devices.Count);
        var all = plan.SelectMany(p => p.Devices).ToList();
        Assert.Equal(20, all.Count);
        Assert.Equal(20, all.Distinct().Count());
        Assert.Equal(4, plan[1].Devices.Select(n => Fleet.First(d => d.Node == n).Group).Distinct().Count());
        Assert.True(plan[^1].TakesLateJoiners);
        Assert.False(plan[0].TakesLateJoiners);
    }

    [Fact]
    public void Explicit_canary_devices_come_first_and_are_not_repeated()
    {
        var plan = RolloutPhasePlan.Build(Fleet, new PhasePlanRequest(CanaryDevices: [7, 13]));
        Assert.Equal(2, plan.Count);
        Assert.Equal([7u, 13u], plan[0].Devices);
        Assert.Equal(18, plan[1].Devices.Count);
        Assert.DoesNotContain(7u, plan[1].Devices);
    }

    [Fact]
    public void Canary_groups_take_whole_groups()
    {
        var plan = RolloutPhasePlan.Build(Fleet, new PhasePlanRequest(CanaryGroups: 1));
        Assert.Equal([1u, 5u, 9u, 13u, 17u], plan[0].Devices);
        Assert.Equal(15, plan[1].Devices.Count);
    }

    [Fact]
    public void No_canary_and_no_percentages_is_one_phase()
    {
        var plan = RolloutPhasePlan.Build(Fleet, new PhasePlanRequest());
        Assert.Single(plan);
        Assert.Equal(20, plan[0].Devices.Count);
    }

    [Theory]
    [InlineData(new int[] { 50, 10, 100 }, "grow")]
    [InlineData(new int[] { 10, 50 }, "end at 100")]
    [InlineData(new int[] { 0, 100 }, "not 1..100")]
    [InlineData(new int[] { 10, 101 }, "not 1..100")]
    public void Bad_percentages_are_refused(int[] percentages, string why)
    {
        var e = Assert.Throws<ArgumentException>(() => RolloutPhasePlan.Build(Fleet, new PhasePlanRequest(Percentages: percentages)));
        Assert.Contains(why, e.Message);
    }

    [Fact]
    public void Bad_canaries_are_refused()
    {
        Assert.Contains("one canary", Assert.Throws<ArgumentException>(() => RolloutPhasePlan.Build(Fleet, new PhasePlanRequest(CanaryCount: 1, CanaryGroups: 1))).Message);
        Assert.Contains("99", Assert.Throws<ArgumentException>(() => RolloutPhasePlan.Build(Fleet, new PhasePlanRequest(CanaryDevices: [1, 99]))).Message);
        Assert.Contains("less than", Assert.Throws<ArgumentException>(() => RolloutPhasePlan.Build(Fleet, new PhasePlanRequest(CanaryCount: 20))).Message);
        Assert.Contains("less than", Assert.Throws<ArgumentException>(() => RolloutPhasePlan.Build(Fleet, new PhasePlanRequest(CanaryGroups: 4))).Message);
        Assert.Contains("negative", Assert.Throws<ArgumentException>(() => RolloutPhasePlan.Build(Fleet, new PhasePlanRequest(CanaryCount: -1))).Message);
    }
}
