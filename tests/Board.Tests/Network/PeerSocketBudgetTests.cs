using System.Collections.Concurrent;
using IotOta.Board.Network;
using IotOta.TestSupport;

namespace IotOta.Board.Tests.Network;

/// <summary>The board's client and server share one socket budget, in and out together, as its presence announces
/// (each side had a budget of its own: a board set to 6 could hold 12 peer sockets on lwIP's table of 10).</summary>
public sealed class PeerSocketBudgetTests : IDisposable
{
    private const uint Loopback = 0x0100007F;
    private readonly List<PeerServer> _servers = new();

    public void Dispose()
    {
        foreach (var s in _servers) s.Stop();
    }

    private (int Port, PeerServer Server, ConcurrentBag<byte> Frames) Serve(PeerSocketBudget budget)
    {
        int port = FreePort.Get();
        var frames = new ConcurrentBag<byte>();
        var server = new PeerServer(port, budget, 4096, (conn, buf, off, n) => frames.Add(buf[off]));
        server.Start();
        _servers.Add(server);
        return (port, server, frames);
    }

    [Fact]
    public void A_budget_below_two_is_two_and_each_side_holds_one_less()
    {
        Assert.Equal(2, new PeerSocketBudget(1).Limit);
        Assert.Equal(5, new PeerSocketBudget(6).PerSide);
        var b = new PeerSocketBudget(2);
        Assert.True(b.TryTake());
        Assert.True(b.TryTake());
        Assert.False(b.TryTake());
        b.Give();
        Assert.Equal(1, b.Open);
    }

    [Fact]
    public async Task Client_and_server_of_one_board_never_hold_more_than_the_budget_together()
    {
        var budget = new PeerSocketBudget(3);
        var (port, server, frames) = Serve(budget);
        var (portA, _, remoteA) = Serve(new PeerSocketBudget(8));
        var (portB, _, remoteB) = Serve(new PeerSocketBudget(8));
        var client = new PeerClient(budget);
        var msg = new byte[] { 7 };
        // two out: the client's side is full (3 − 1)
        Assert.True(client.Send(Loopback, portA, msg, 0, 1));
        Assert.True(client.Send(Loopback, portB, msg, 0, 1));
        Assert.Equal(2, client.Open);
        // a peer comes in: the third socket
        var peer1 = new PeerClient(2);
        Assert.True(peer1.Send(Loopback, port, msg, 0, 1));
        await Poll.Until(() => frames.Count == 1, "the first peer's frame");
        Assert.Equal(1, server.Held);
        Assert.Equal(3, budget.Open);
        // a second peer comes in: the budget is full, the server closes its own idlest connection (never the client's)
        var peer2 = new PeerClient(2);
        Assert.True(peer2.Send(Loopback, port, msg, 0, 1));
        await Poll.Until(() => frames.Count == 2, "the second peer's frame");
        Assert.Equal((1, 2, 3), (server.Held, client.Open, budget.Open));
        Assert.Equal(1, server.Evictions);
        // the client goes out to a third peer: its own oldest connection makes room
        var (portC, _, remoteC) = Serve(new PeerSocketBudget(8));
        Assert.True(client.Send(Loopback, portC, msg, 0, 1));
        Assert.Equal((2, 3), (client.Open, budget.Open));
        await Poll.Until(() => remoteA.Count + remoteB.Count + remoteC.Count == 3, "frames at the remotes");
        Assert.Equal(0, budget.Refused);
    }

    [Fact]
    public async Task When_the_server_holds_its_share_the_client_closes_its_own_oldest_to_go_out()
    {
        var budget = new PeerSocketBudget(3);
        var (port, server, frames) = Serve(budget);
        var msg = new byte[] { 1 };
        var inbound = Enumerable.Range(0, 2).Select(_ => new PeerClient(2)).ToList();
        foreach (var p in inbound) Assert.True(p.Send(Loopback, port, msg, 0, 1));
        await Poll.Until(() => frames.Count == 2 && server.Held == 2, "two peers in");
        var client = new PeerClient(budget);
        var (portA, _, remoteA) = Serve(new PeerSocketBudget(8));
        var (portB, _, remoteB) = Serve(new PeerSocketBudget(8));
        Assert.True(client.Send(Loopback, portA, msg, 0, 1));
        Assert.Equal(3, budget.Open);
        Assert.True(client.Send(Loopback, portB, msg, 0, 1)); // budget full: it closes its connection to A
        Assert.Equal(1, client.Open);
        Assert.InRange(server.Held, 1, 2); // the server may already have given an idle one back
        Assert.InRange(budget.Open, 2, 3);
        await Poll.Until(() => remoteA.Count == 1 && remoteB.Count == 1, "both remotes got their frame");
        // It asked for room: the server gives back an idle inbound connection, so the client's next peer needs no
        // eviction of its own (idle peers keeping their connections open squeezed it to one socket).
        await Poll.Until(() => server.Held == 1, $"the server held {server.Held} connections");
        var (portC, _, remoteC) = Serve(new PeerSocketBudget(8));
        Assert.True(client.Send(Loopback, portC, msg, 0, 1));
        Assert.Equal((2, 1, 3), (client.Open, server.Held, budget.Open));
        Assert.True(client.Send(Loopback, portB, msg, 0, 1)); // still open
        await Poll.Until(() => remoteB.Count == 2 && remoteC.Count == 1, "frames on both outbound connections");
    }
}
