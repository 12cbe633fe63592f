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

    [Fact]
    public void A_packet_no_mate_holds_is_ordered_from_a_device_of_another_group_before_the_gateway_sends_it()
    {
        // group mate 10 holds 0..1; devices 20 and 21 of other groups hold 2..5; nobody holds 6
        var held = new Dictionary<uint, int[]> { [10] = [0, 1], [20] = [2, 3, 4, 5], [21] = [2, 3, 4, 5] };
        var plan = DonorSelector.Plan(7, _ => true, [10], Holds(held), _ => true, perDonor: 64, gatewayBudget: 64,
            others: [20, 21], acrossAllowed: _ => true);
        Assert.Equal([0, 1], plan.ByDonor[10]); // the group first
        Assert.Equal([2, 3, 4, 5], plan.Across.Values.SelectMany(l => l).OrderBy(k => k)); // not re-sent by the gateway
        Assert.Equal(2, plan.Across[20].Count); // spread over the holders of other groups
        Assert.Equal(2, plan.Across[21].Count);
        Assert.Equal([6], plan.FromGateway); // held nowhere: only then the gateway
        Assert.Equal(6, plan.DonatedCount);
    }

    [Fact]
    public void A_cross_group_order_does_not_wait_for_the_packet_to_be_delivered_to_the_group()
    {
        // the packet's minimum unit left with a killed device: on its way to nobody, held by another group
        var held = new Dictionary<uint, int[]> { [20] = [0] };
        var plan = DonorSelector.Plan(1, _ => true, [], Holds(held), gatewayMaySend: _ => false, perDonor: 64, gatewayBudget: 64,
            others: [20], acrossAllowed: _ => true);
        Assert.Equal([0], plan.Across[20]);
        Assert.Empty(plan.FromGateway);
    }

    [Fact]
    public void A_packet_already_ordered_into_the_group_is_neither_ordered_again_nor_sent_by_the_gateway()
    {
        var held = new Dictionary<uint, int[]> { [20] = [0, 1] };
        var plan = DonorSelector.Plan(2, _ => true, [], Holds(held), _ => true, perDonor: 64, gatewayBudget: 64,
            others: [20], acrossAllowed: k => k != 1);
        Assert.Equal([0], plan.Across[20]);
        Assert.Empty(plan.FromGateway);
    }

    [Fact]
    public void Busy_donors_of_other_groups_keep_the_packet_off_the_first_network()
    {
        var held = new Dictionary<uint, int[]> { [20] = [0, 1, 2] };
        var plan = DonorSelector.Plan(3, _ => true, [], Holds(held), _ => true, perDonor: 2, gatewayBudget: 64,
            others: [20], acrossAllowed: _ => true);
        Assert.Equal([0, 1], plan.Across[20]);
        Assert.Empty(plan.FromGateway); // 2 waits for the next round
    }

    [Fact]
    public void Without_other_groups_the_plan_is_as_before()
    {
        var held = new Dictionary<uint, int[]> { [10] = [0] };
        var plan = DonorSelector.Plan(2, _ => true, [10], Holds(held), _ => true, 64, 64);
        Assert.Empty(plan.Across);
        Assert.Equal([1], plan.FromGateway);
    }
}
