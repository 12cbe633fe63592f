using System.Collections.Concurrent;
using IotOta.Board.Network;
using IotOta.TestSupport;

namespace IotOta.Board.Tests.Network;

/// <summary>The board's peer server reads every connection it holds (the old one served one connection at a time
/// while peers kept theirs open), within its connection budget; the client keeps one connection per peer.</summary>
public sealed class PeerServerTests : IDisposable
{
    private readonly List<PeerServer> _servers = new();

    public void Dispose()
    {
        foreach (var s in _servers) s.Stop();
    }

    private const uint Loopback = 0x0100007F;

    private (PeerServer server, ConcurrentDictionary<uint, int> frames, ConcurrentBag<byte> firstBytes, CancellationTokenSource stop)
        Serve(int port, int budget)
    {
        var frames = new ConcurrentDictionary<uint, int>();
        var first = new ConcurrentBag<byte>();
        var server = new PeerServer(port, budget, 4096, (conn, buf, off, n) =>
        {
            frames.AddOrUpdate(conn, 1, (_, v) => v + 1);
            first.Add(buf[off]);
        });
        server.Start();
        _servers.Add(server);
        return (server, frames, first, new CancellationTokenSource());
    }

    [Fact]
    public async Task Six_peers_that_keep_their_connections_open_are_all_read()
    {
        int port = FreePort.Get();
        var (server, frames, first, _) = Serve(port, 6);
        // six peers, each with its own client (one open connection each), sending interleaved frames
        var clients = Enumerable.Range(0, 6).Select(_ => new PeerClient(6)).ToList();
        for (int round = 0; round < 20; round++)
        {
            for (int c = 0; c < clients.Count; c++)
            {
                var msg = new byte[100 + round];
                msg[0] = (byte)c;
                Assert.True(clients[c].Send(Loopback, port, msg, 0, msg.Length));
            }
        }
        await Poll.Until(() => frames.Values.Sum() == 120, $"read {frames.Values.Sum()} of 120 frames");
        Assert.Equal(6, frames.Count);
        Assert.All(frames.Values, v => Assert.Equal(20, v));
        Assert.Equal(6, server.Held);
        Assert.Equal(0, server.Evictions);
        Assert.Equal(20, first.Count(b => b == 5));
    }

    [Fact]
    public async Task A_seventh_peer_beyond_the_budget_takes_the_idlest_connection_and_the_evicted_peer_reconnects()
    {
        int port = FreePort.Get();
        var (server, frames, _, _) = Serve(port, 6);
        var clients = Enumerable.Range(0, 7).Select(_ => new PeerClient(6)).ToList();
        var msg = new byte[10];
        for (int c = 0; c < 6; c++) Assert.True(clients[c].Send(Loopback, port, msg, 0, msg.Length));
        await Poll.Until(() => frames.Values.Sum() == 6, "first six frames");
        Assert.True(clients[6].Send(Loopback, port, msg, 0, msg.Length));
        await Poll.Until(() => frames.Values.Sum() == 7, "the seventh peer's frame");
        Assert.Equal(6, server.Held);
        Assert.Equal(1, server.Evictions);
        // every peer still gets through: an evicted one finds its connection closed and opens a new one
        for (int round = 0; round < 3; round++)
            foreach (var c in clients)
                if (!c.Send(Loopback, port, msg, 0, msg.Length)) Assert.True(c.Send(Loopback, port, msg, 0, msg.Length));
        await Poll.Until(() => frames.Values.Sum() >= 7 + 3 * 7 - 7, "frames after eviction");
        Assert.True(server.Held <= 6);
    }

    [Fact]
    public async Task A_frame_sent_after_the_server_closed_the_connection_to_make_room_arrives_on_a_new_one()
    {
        // The client wrote its next frame into the connection the server had closed: the write succeeded locally,
        // Send returned true, and the frame was lost (the server only answers with a reset).
        int port = FreePort.Get();
        var (server, frames, first, _) = Serve(port, 1);
        var evicted = new PeerClient(2);
        var other = new PeerClient(2);
        Assert.True(evicted.Send(Loopback, port, new byte[] { 1 }, 0, 1));
        await Poll.Until(() => frames.Values.Sum() == 1, "first frame");
        Assert.True(other.Send(Loopback, port, new byte[] { 2 }, 0, 1));
        await Poll.Until(() => frames.Values.Sum() == 2, "the other peer's frame");
        Assert.Equal(1, server.Evictions);
        Assert.True(evicted.Send(Loopback, port, new byte[] { 3 }, 0, 1));
        await Poll.Until(() => frames.Values.Sum() == 3, $"read {frames.Values.Sum()} of 3 frames: the one sent into the closed connection was lost");
        Assert.Equal(new byte[] { 1, 2, 3 }, first.OrderBy(b => b).ToArray());
        Assert.Equal(1, evicted.Open);
    }

    [Fact]
    public void The_client_holds_at_most_its_budget_of_connections()
    {
        var ports = Enumerable.Range(0, 4).Select(_ => FreePort.Get()).ToList();
        foreach (var p in ports) Serve(p, 2);
        var client = new PeerClient(2);
        var msg = new byte[8];
        foreach (var p in ports) Assert.True(client.Send(Loopback, p, msg, 0, msg.Length));
        Assert.Equal(2, client.Open);
        Assert.False(client.Send(Loopback, FreePort.Get(), msg, 0, msg.Length)); // nobody listens: false, no throw
    }
}
