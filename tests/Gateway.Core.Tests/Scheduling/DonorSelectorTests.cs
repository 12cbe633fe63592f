using IotOta.Gateway.Scheduling;

namespace IotOta.Gateway.Core.Tests.Scheduling;

public class DonorSelectorTests
{
    private static Func<uint, int, bool> Holds(Dictionary<uint, int[]> held) => (n, k) => held.TryGetValue(n, out var l) && l.Contains(k);

    [Fact]
    public void Each_missing_packet_goes_to_a_mate_that_holds_it_spread_over_the_holders()
    {
        // 8 packets missing. Mate 10 runs the image (holds all), 11 holds the first half, 12 holds nothing.
        var held = new Dictionary<uint, int[]> { [10] = Enumerable.Range(0, 8).ToArray(), [11] = [0, 1, 2, 3], [12] = [] };
        var plan = DonorSelector.Plan(8, _ => true, [10, 11, 12], Holds(held), _ => true, perDonor: 64, gatewayBudget: 64);
        Assert.Empty(plan.FromGateway);
        Assert.False(plan.ByDonor.ContainsKey(12)); // not asked: it holds nothing (round-robin would have asked it)
        Assert.All(plan.ByDonor[11], k => Assert.InRange(k, 0, 3)); // only what it holds
        Assert.Equal(8, plan.DonatedCount);
        Assert.Equal(Enumerable.Range(0, 8), plan.ByDonor.Values.SelectMany(l => l).OrderBy(k => k)); // each packet once
        Assert.Equal(2, plan.ByDonor[11].Count); // balanced: 0..3 split between 10 and 11, 4..7 only 10 holds
        Assert.Equal(6, plan.ByDonor[10].Count);
    }

    [Fact]
    public void The_gateway_sends_only_what_no_online_mate_holds_and_only_when_it_is_not_on_its_way()
    {
        var held = new Dictionary<uint, int[]> { [10] = [0, 1] };
        var plan = DonorSelector.Plan(5, k => k != 4, [10], Holds(held), gatewayMaySend: k => k != 3, perDonor: 64, gatewayBudget: 64);
        Assert.Equal([0, 1], plan.ByDonor[10]);
        Assert.Equal([2], plan.FromGateway); // 3 is still on its way to the group; 4 is not missing
    }

    [Fact]
    public void Budgets_bound_each_donor_and_the_gateway_and_a_full_holder_does_not_send_the_gateway_in()
    {
        var held = new Dictionary<uint, int[]> { [10] = Enumerable.Range(0, 10).ToArray() };
        var plan = DonorSelector.Plan(20, _ => true, [10], Holds(held), _ => true, perDonor: 4, gatewayBudget: 3);
        Assert.Equal([0, 1, 2, 3], plan.ByDonor[10]); // the rest of 0..9 in a later round, still from the donor
        Assert.Equal([10, 11, 12], plan.FromGateway);
        Assert.Same(DonorPlan.Empty, DonorSelector.Plan(0, _ => true, [10], Holds(held), _ => true, 4, 3));
    }
}
