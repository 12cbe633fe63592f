using System.Collections.Concurrent;
using IotOta.VirtualDevice.Network;
using IotOta.VirtualDevice.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace IotOta.VirtualDevice.Tests.Network;

public sealed class PeerConnectionBudgetTests
{
    [Fact]
    public void Past_the_limit_an_idle_outbound_connection_makes_room_and_a_busy_budget_refuses()
    {
        var time = new FakeTimeProvider();
        var budget = new PeerConnectionBudget(2, TimeSpan.FromMilliseconds(100), time, TimeSpan.Zero);
        int closedOut = 0, closedIn = 0;
        var outbound = budget.TryOpen(inbound: false, () => closedOut++)!;
        var inbound = budget.TryOpen(inbound: true, () => closedIn++)!;
        Assert.True(outbound.BeginUse());
        Assert.True(inbound.BeginUse());
        // both sockets carry a frame: the third connection is refused and counted
        Assert.Null(budget.TryOpen(inbound: true, () => { }));
        Assert.Null(budget.Open(inbound: false, () => { }));
        Assert.Equal(2, budget.Refused);
        // the outbound one finished its frame: it may go at once (what it sent still arrives)
        outbound.EndUse();
        var third = budget.TryOpen(inbound: true, () => { });
        Assert.NotNull(third);
        Assert.Equal(1, closedOut);
        Assert.False(outbound.BeginUse()); // its owner sees it was closed and connects again
        Assert.Equal(1, budget.Evicted);
        Assert.Equal(2, budget.OpenCount);
        Assert.Equal(2, budget.HighWater);
        // an inbound connection goes only after it was idle a while
        inbound.EndUse();
        third!.BeginUse();
        Assert.Null(budget.TryOpen(inbound: false, () => { }));
        time.Advance(TimeSpan.FromMilliseconds(150));
        Assert.NotNull(budget.TryOpen(inbound: false, () => { }));
        Assert.Equal(1, closedIn);
        Assert.Equal(2, budget.HighWater);
    }

    [Fact]
    public void A_connection_opened_to_send_a_frame_is_not_closed_for_another_before_that_frame_went_out()
    {
        // A new outbound connection was idle between its connect and its first frame: an inbound connection arriving
        // then closed it to make room, the reconnect lost the same race, and the relay copy it was for never went out
        // (demo 30 devices / 3 groups: 1-3 relays per run, each sent again by the gateway as an original).
        var time = new FakeTimeProvider();
        var budget = new PeerConnectionBudget(1, TimeSpan.FromMilliseconds(100), time, TimeSpan.Zero);
        int closed = 0;
        var sending = budget.Open(inbound: false, () => closed++, inUse: true)!;
        Assert.NotNull(sending);
        Assert.Null(budget.TryOpen(inbound: true, () => { }));
        Assert.Equal(0, closed);
        Assert.Equal(0, budget.Evicted);
        // once its frame is out it is an idle outbound connection like any other and may go
        sending.EndUse();
        Assert.NotNull(budget.TryOpen(inbound: true, () => { }));
        Assert.Equal(1, closed);
        Assert.False(sending.BeginUse());
        // a slot opened without a frame to send is idle at once, as before
        var idle = new PeerConnectionBudget(1, TimeSpan.FromMilliseconds(100), time, TimeSpan.Zero);
        int idleClosed = 0;
        Assert.NotNull(idle.Open(inbound: false, () => idleClosed++));
        Assert.NotNull(idle.TryOpen(inbound: true, () => { }));
        Assert.Equal(1, idleClosed);
    }

    [Fact]
    public void A_released_slot_is_free_again_and_limit_zero_is_unlimited()
    {
        var budget = new PeerConnectionBudget(1, maxWait: TimeSpan.Zero);
        var a = budget.TryOpen(inbound: false, () => { })!;
        a.BeginUse();
        Assert.Null(budget.TryOpen(inbound: false, () => { }));
        a.Release();
        Assert.NotNull(budget.TryOpen(inbound: false, () => { }));
        var open = new PeerConnectionBudget(0);
        for (int i = 0; i < 50; i++) Assert.NotNull(open.TryOpen(inbound: i % 2 == 0, () => { }));
        Assert.Equal(50, open.HighWater);
        Assert.Equal(0, open.Refused);
        Assert.Throws<ArgumentOutOfRangeException>(() => new PeerConnectionBudget(-1));
    }

    [Fact]
    public void A_device_talking_to_more_peers_than_its_budget_never_holds_more_and_loses_nothing()
    {
        // One device with a budget of 3 sockets sends to 6 peers and receives from all of them, round after round: it
        // never has more than 3 connections open, and every message arrives (a connection past the budget waits for a
        // socket instead of being dropped).
        var got = new ConcurrentDictionary<int, int>();
        var budget = new PeerConnectionBudget(3);
        using var hub = new TcpPeerNetwork((b, o, n) => got.AddOrUpdate(BitConverter.ToInt32(b, o), 1, (_, c) => c + 1), LinkProfile.Unlimited, null, null, budget: budget);
        var peersGot = new ConcurrentBag<int>();
        var peers = Enumerable.Range(0, 6).Select(_ => new TcpPeerNetwork((b, o, n) => peersGot.Add(BitConverter.ToInt32(b, o)), LinkProfile.Unlimited, null, null)).ToList();
        try
        {
            var m = new byte[64];
            for (int round = 0; round < 5; round++)
            {
                for (int p = 0; p < peers.Count; p++)
                {
                    BitConverter.TryWriteBytes(m, round * 100 + p);
                    Assert.True(hub.Send(peers[p].Ip, peers[p].Port, m, 0, m.Length), $"hub → peer {p}, round {round}");
                    Assert.True(peers[p].Send(hub.Ip, hub.Port, m, 0, m.Length));
                }
            }
            Assert.True(Wait.Until(() => got.Count == 30 && peersGot.Count == 30, 15_000), $"hub got {got.Count}, peers got {peersGot.Count} of 30");
            Assert.All(got.Values, c => Assert.Equal(1, c));
            Assert.InRange(budget.HighWater, 1, 3);
            Assert.True(budget.Evicted > 0);
            Assert.Equal(budget.HighWater, hub.Budget.HighWater);
        }
        finally
        {
            foreach (var p in peers) p.Dispose();
        }
    }
}
