using IotOta.Gateway.Fleet;
using IotOta.Gateway.Scheduling;
using IotOta.Gateway.Core.Tests.Support;
using IotOta.Shared.Protocol;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace IotOta.Gateway.Core.Tests.Scheduling;

public class RolloutSchedulerTests(ITestOutputHelper output)
{
    private const double Fast = 250_000, Slow = 25_000;

    /// <summary>The shipped defaults (a window of 6: with 3 a device's slots are partly held by relay jobs still waiting
    /// for their root, and fast devices starve — measured 20.8 % off with 3).</summary>
    // SchedulerSimulation models devices that copy a minimum unit to every member themselves (full mesh): book root
    // jobs that way (GroupFanout 0), not as copy-tree roots.
    internal static readonly SchedulerOptions Options = new() { GroupFanout = 0 };

    /// <summary>groups × perGroup devices; in every group the first quarter of the devices are 10× slower.</summary>
    internal static List<SimDevice> Fleet(int groups, int perGroup, int slowPerGroup)
    {
        var list = new List<SimDevice>();
        for (int g = 0; g < groups; g++)
            for (int i = 0; i < perGroup; i++)
            {
                uint id = (uint)(100 * (g + 1) + i);
                list.Add(new SimDevice(id, g + 1, i < slowPerGroup ? Slow : Fast, clockOffsetMs: 1_000_000L * id));
            }
        return list;
    }

    [Fact]
    public void AllocationIsProportionalToCapacityAndNearTheKumarRossBound()
    {
        var devices = Fleet(groups: 4, perGroup: 8, slowPerGroup: 2); // 32 devices, 8 of them 10× slower
        double sumUp = devices.Sum(d => d.UploadBytesPerSecond);
        // Ample gateway upload: twice what the fleet can absorb when the gateway sends each packet once.
        double gateway = 2 * sumUp / (devices.Count - 1);
        var sim = new SchedulerSimulation(devices, chunkCount: 2000, chunkSize: 1024, Options, gateway);
        Assert.True(sim.Run(maxSeconds: 60));

        double totalCopies = devices.Sum(d => d.CopyBytesForwarded);
        Assert.Equal((devices.Count - 1) * (double)sim.ImageBytes, totalCopies); // every device got every packet once
        var participants = devices.Where(d => d.CopyBytesForwarded > 0).ToList();
        double capParticipants = participants.Sum(d => d.UploadBytesPerSecond);
        double worst = 0;
        foreach (var d in devices.OrderBy(d => d.Id))
        {
            double share = d.CopyBytesForwarded / totalCopies;
            double capShare = d.UploadBytesPerSecond / capParticipants;
            double ratio = share / capShare;
            if (d.CopyBytesForwarded > 0) worst = Math.Max(worst, Math.Abs(ratio - 1));
            output.WriteLine($"device {d.Id} group {d.Group} rate {d.UploadBytesPerSecond,7} share {share:P2} capacity share {capShare:P2} ratio {ratio:F3}");
        }
        double bound = sim.KumarRossSeconds();
        output.WriteLine($"participants {participants.Count}/{devices.Count}; worst |share/capacity − 1| = {worst:P1}");
        output.WriteLine($"completion {sim.CompletedAt:F3} s, Kumar–Ross bound {bound:F3} s, ratio {sim.CompletedAt / bound:F3}; reallocations {sim.Scheduler.Reallocations}");

        Assert.Equal(devices.Count, participants.Count); // the slow devices do take part under load
        Assert.True(worst <= 0.15, $"a device's share is {worst:P1} off its capacity share");
        Assert.True(sim.CompletedAt!.Value <= 1.15 * bound, $"completion {sim.CompletedAt:F3} s vs bound {bound:F3} s");
        Assert.True(sim.CompletedAt!.Value >= bound * 0.999);
        Assert.Equal(0, sim.Scheduler.Reallocations);
        Assert.Equal(sim.ChunkCount, sim.Scheduler.OriginalsPlanned);
        Assert.True(sim.MaxInFlightSeen <= Options.MaxInFlightPerDevice);
    }

    private static void AssertEveryDeliveryPlannedOncePerGroup(SchedulerSimulation sim, bool crossGroup)
    {
        var perGroup = new Dictionary<(int Group, int Index), int>();
        foreach (var (_, o) in sim.Orders)
        {
            var named = new[] { o.Root }.Concat(o.Relays).Concat(o.Deep).ToList();
            Assert.True(o.Relays.Count <= DataPacket.MaxTargets);
            Assert.Equal(named.Count, named.Select(m => m.GroupId).Distinct().Count()); // one device per group
            if (!crossGroup) Assert.Empty(o.Relays);
            foreach (var m in named) perGroup[(m.GroupId, o.Index)] = perGroup.GetValueOrDefault((m.GroupId, o.Index)) + 1;
        }
        int groups = sim.Devices.Values.Select(d => d.Group).Distinct().Count();
        Assert.Equal(groups * sim.ChunkCount, perGroup.Count);
        Assert.All(perGroup, kv => Assert.Equal(1, kv.Value));
    }

    [Fact]
    public void CrossGroupOrdersNameOneRelayInEveryOtherGroup()
    {
        var devices = Fleet(groups: 5, perGroup: 3, slowPerGroup: 0);
        var sim = new SchedulerSimulation(devices, chunkCount: 60, chunkSize: 512, new SchedulerOptions(), gatewayUploadBytesPerSecond: 1e6);
        Assert.True(sim.Run(30));
        Assert.All(sim.Orders, x => Assert.Equal(4, x.Order.Relays.Count));
        AssertEveryDeliveryPlannedOncePerGroup(sim, crossGroup: true);
        Assert.Equal(60, sim.Scheduler.OriginalsPlanned); // the gateway sends each packet once for the fleet
        Assert.Equal(60 * 4, sim.Scheduler.RelaysPlanned);
        Assert.Equal((5 * 60, 5 * 60), sim.Scheduler.Progress);
        // Each group forwarded every packet to its 2 other members, plus 4 relay copies for each packet it was root of.
        Assert.All(devices.GroupBy(d => d.Group), g => Assert.Equal(
            2.0 * sim.ImageBytes + 4.0 * 512 * sim.Orders.Count(o => o.Order.Root.GroupId == g.Key), g.Sum(d => d.CopyBytesForwarded)));
    }

    [Fact]
    public void MoreGroupsThanTargetsGoDownARelayTreeWithOneOriginalPerPacket()
    {
        var devices = Fleet(groups: 11, perGroup: 2, slowPerGroup: 0);
        var sim = new SchedulerSimulation(devices, chunkCount: 20, chunkSize: 512, new SchedulerOptions(), gatewayUploadBytesPerSecond: 1e6);
        Assert.True(sim.Run(30));
        Assert.All(sim.Orders, x => Assert.True(x.Order.Relays.Count <= DataPacket.MaxTargets));
        Assert.Equal(RelayForest.FanOut, sim.Orders.Max(x => x.Order.Relays.Count));
        AssertEveryDeliveryPlannedOncePerGroup(sim, crossGroup: true);
        Assert.Equal(20, sim.Scheduler.OriginalsPlanned); // 11 groups: the original names 4, the tables the other 6
        Assert.All(sim.Orders, x => Assert.Equal(10 - RelayForest.FanOut, x.Order.Deep.Count));
        Assert.All(sim.MinimumUnits, kv => Assert.Equal(1, kv.Value));
    }

    [Fact]
    public void PerGroupModeSendsOneOriginalPerGroupPerPacket()
    {
        var devices = Fleet(groups: 3, perGroup: 4, slowPerGroup: 1);
        var sim = new SchedulerSimulation(devices, chunkCount: 50, chunkSize: 512, new SchedulerOptions { CrossGroup = false }, gatewayUploadBytesPerSecond: 1e6);
        Assert.True(sim.Run(30));
        AssertEveryDeliveryPlannedOncePerGroup(sim, crossGroup: false);
        Assert.Equal(150, sim.Scheduler.OriginalsPlanned);
        Assert.Equal(0, sim.Scheduler.RelaysPlanned);
        Assert.All(devices.GroupBy(d => d.Group), g => Assert.Equal(3.0 * sim.ImageBytes, g.Sum(d => d.CopyBytesForwarded)));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void NoDeviceHoldsMoreThanItsWindow(int window)
    {
        // Very fast devices with a long horizon: only the window limits them.
        var devices = Enumerable.Range(1, 4).Select(i => new SimDevice((uint)i, 1 + i % 2, 5e6, 0)).ToList();
        var options = new SchedulerOptions { MaxInFlightPerDevice = window, BacklogHorizon = TimeSpan.FromSeconds(10) };
        var sim = new SchedulerSimulation(devices, chunkCount: 200, chunkSize: 512, options, gatewayUploadBytesPerSecond: 1e5);
        Assert.True(sim.Run(30));
        Assert.Equal(window, sim.MaxInFlightSeen);
    }

    [Fact]
    public void DeparturesWithWorkAreReplannedAndNeverTargetedAgain()
    {
        var devices = Fleet(groups: 3, perGroup: 4, slowPerGroup: 1);
        var sim = new SchedulerSimulation(devices, chunkCount: 300, chunkSize: 1024, new SchedulerOptions(), gatewayUploadBytesPerSecond: 1e6);
        var leaving = new[] { 102u, 203u, 300u };
        long heldWhenLeaving = 0;
        Assert.True(sim.Run(60, s =>
        {
            if (s.NowSeconds < 0.3 || s.Departed.Count > 0) return;
            var loads = s.Scheduler.Loads().ToDictionary(l => l.NodeId);
            if (!leaving.All(n => loads[n].InFlight > 0)) return;
            heldWhenLeaving = leaving.Sum(n => loads[n].InFlight);
            long before = s.Scheduler.Reallocations;
            foreach (uint n in leaving) s.Leave(n);
            // What they held, plus the relays that were to get a packet from one of them, waits (orphaned) for a
            // holder, their return or its deadline: nothing is planned again at once.
            Assert.True(s.Scheduler.DeliveriesOrphaned >= heldWhenLeaving);
            Assert.Equal(before, s.Scheduler.Reallocations);
        }));
        Assert.Equal(3, sim.Departed.Count);
        Assert.True(heldWhenLeaving >= 3);
        Assert.True(sim.Scheduler.Reallocations >= heldWhenLeaving);
        Assert.Empty(sim.OrdersToDeparted);
        Assert.True(sim.Scheduler.AllDelivered);
        Assert.DoesNotContain(sim.Scheduler.Loads(), l => !leaving.Contains(l.NodeId) && l.InFlight != 0);
    }

    [Fact]
    public void SilentDeviceIsReplannedAfterItsDeadline()
    {
        var clock = new FakeTimeProvider();
        var table = new OverheadTable(clock);
        var options = new SchedulerOptions { CrossGroup = false, MinNoticeTimeout = TimeSpan.FromSeconds(5) };
        var s = new RolloutScheduler(1, _ => 1000, options, table, clock);
        var a = new FleetMember(1, 1, 1, 1);
        var b = new FleetMember(2, 1, 2, 2);
        s.UpdateFleet([a, b]);
        var first = Assert.Single(s.Plan());
        Assert.Equal(a, first.Root); // tie: the lower node id
        Assert.Empty(s.Plan());
        clock.Advance(TimeSpan.FromSeconds(5)); // exactly at the deadline: still waiting
        Assert.Empty(s.Plan());
        Assert.Equal(0, s.Reallocations);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        var again = Assert.Single(s.Plan());
        Assert.Equal(1, s.Reallocations);
        Assert.Equal(0, again.Index);
        Assert.Equal(b, again.Root); // a has as much in flight as b now, but more assigned
        s.OnNotice(b.NodeId, 0);
        Assert.True(s.AllDelivered);
        Assert.All(s.Loads(), l => Assert.Equal(0, l.InFlight));
    }

    [Fact]
    public void SilentDeviceInSimulationDelaysButDoesNotStopTheRollout()
    {
        var devices = Fleet(groups: 2, perGroup: 3, slowPerGroup: 0);
        devices.Single(d => d.Id == 101).Silent = true;
        var sim = new SchedulerSimulation(devices, chunkCount: 40, chunkSize: 512, new SchedulerOptions(), gatewayUploadBytesPerSecond: 1e6);
        Assert.True(sim.Run(60));
        Assert.True(sim.Scheduler.Reallocations > 0);
        Assert.True(sim.CompletedAt > 5.0); // it waited for the 5 s minimum notice timeout
    }

    [Fact]
    public void NoticeCompletesOnlyTheNotifyingDevicesGroup()
    {
        var clock = new FakeTimeProvider();
        var s = new RolloutScheduler(2, _ => 1000, new SchedulerOptions(), new OverheadTable(clock), clock);
        s.UpdateFleet([new FleetMember(1, 1, 1, 1), new FleetMember(2, 2, 2, 2)]);
        Assert.False(s.AllDelivered);
        var orders = s.Plan();
        Assert.Equal(2, orders.Count);
        Assert.Equal((0, 4), s.Progress);
        s.OnNotice(1, 0);
        s.OnNotice(1, 0); // duplicate
        s.OnNotice(99, 1); // unknown device
        s.OnNotice(1, 7); // out of range
        Assert.Equal((1, 4), s.Progress);
    }

    [Fact]
    public void AGroupThatEmptiedAndCameBackIsServed()
    {
        var clock = new FakeTimeProvider();
        var s = new RolloutScheduler(2, _ => 1000, new SchedulerOptions(), new OverheadTable(clock), clock);
        var a = new FleetMember(1, 1, 1, 1);
        var b = new FleetMember(2, 2, 2, 2);
        s.UpdateFleet([a, b]);
        foreach (var o in s.Plan()) Assert.Single(o.Relays);
        s.UpdateFleet([a]);              // group 2's only device leaves holding both packets
        Assert.True(s.OrphanCount >= 2); // its two deliveries, and any of group 1's that it was to relay, wait
        Assert.Equal(0, s.Reallocations);
        s.OnNotice(1, 0);
        s.OnNotice(1, 1);
        Assert.True(s.AllDelivered);     // group 2 has no members now
        Assert.Empty(s.Plan());
        s.UpdateFleet([a, b]);           // it comes back (and reported holding neither): both are still owed to group 2
        Assert.False(s.AllDelivered);
        Assert.Empty(s.Plan());          // still waiting for its report
        s.OnReport(1);
        s.OnReport(2);                   // the reports (RolloutScheduler.OrphanSettling)
        Assert.Equal(2, s.ReleaseReturned());
        var again = s.Plan();
        Assert.Equal([0, 1], again.Select(o => o.Index));
        Assert.All(again, o => Assert.Equal(b, o.Root));
        s.OnNotice(2, 0);
        s.OnNotice(2, 1);
        Assert.True(s.AllDelivered);
    }
    [Fact]
    public void WhenARootLeavesItsGroupGetsThePacketAgainAtTheDeadlineAndTheRelayThatNoticedDoesNot()
    {
        var clock = new FakeTimeProvider();
        var s = new RolloutScheduler(1, _ => 1000, new SchedulerOptions(), new OverheadTable(clock), clock);
        var a = new FleetMember(1, 1, 1, 1);
        var a2 = new FleetMember(3, 1, 3, 3);
        var b = new FleetMember(2, 2, 2, 2);
        var b2 = new FleetMember(4, 2, 4, 4);
        s.UpdateFleet([a, a2, b, b2]);
        var order = Assert.Single(s.Plan());
        var root = order.Root;
        var relay = Assert.Single(order.Relays);
        Assert.NotEqual(root.GroupId, relay.GroupId);
        s.UpdateFleet(new[] { a, a2, b, b2 }.Where(m => m.NodeId != root.NodeId));
        Assert.Equal(2, s.OrphanCount);                             // the root's delivery and the relay it was to feed
        Assert.Equal(0, s.Reallocations);
        Assert.Empty(s.Plan());                                     // nothing goes again at once
        Assert.Equal(0, s.Loads().Single(l => l.NodeId == root.NodeId).InFlight); // the gone root holds no work
        s.OnNotice(relay.NodeId, 0);                                // the relay had its copy before the root died
        Assert.Equal(1, s.OrphanCount);
        Assert.All(s.Loads(), l => Assert.Equal(0, l.InFlight));
        clock.Advance(TimeSpan.FromSeconds(5.001));                 // past the root delivery's deadline
        var again = Assert.Single(s.Plan());
        Assert.Equal(1, s.Reallocations);
        Assert.NotEqual(root.NodeId, again.Root.NodeId);
        Assert.Equal(root.GroupId, again.Root.GroupId);             // only the group that lacks it
        Assert.Empty(again.Relays);
    }

    [Fact]
    public void ADeviceThatMovesGroupGivesBackWhatItHeldForTheOldGroup()
    {
        var clock = new FakeTimeProvider();
        var s = new RolloutScheduler(1, _ => 1000, new SchedulerOptions { CrossGroup = false }, new OverheadTable(clock), clock);
        var a = new FleetMember(1, 1, 1, 1);
        var b = new FleetMember(2, 2, 2, 2);
        s.UpdateFleet([a, b]);
        Assert.Equal(2, s.Plan().Count);
        s.UpdateFleet([a with { GroupId = 2 }, b]);                // device 1 moves into group 2; group 1 is empty now
        Assert.Equal(1, s.Reallocations);
        s.OnNotice(2, 0);
        Assert.True(s.AllDelivered);
    }
}
