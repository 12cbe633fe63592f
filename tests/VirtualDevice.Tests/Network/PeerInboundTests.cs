using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using IotOta.VirtualDevice.Network;
using IotOta.VirtualDevice.Tests.Support;

namespace IotOta.VirtualDevice.Tests.Network;

/// <summary>A device whose socket budget takes an inbound connection away (to make room, or because none was free)
/// still delivers every frame the sender wrote into it before it could see that: the sender's Send had returned true,
/// and nothing would repair a frame lost there (PeerConnectionBudgetTests' hub got 29 of 30 that way).</summary>
public sealed class PeerInboundTests
{
    private static void WriteFrame(Socket s, int value)
    {
        byte[] f = new byte[8];
        BinaryPrimitives.WriteInt32LittleEndian(f, 4);
        BinaryPrimitives.WriteInt32LittleEndian(f.AsSpan(4), value);
        Assert.Equal(8, s.Send(f));
    }

    private static Socket Connect(TcpPeerNetwork to)
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveTimeout = 15_000 };
        s.Connect(IPAddress.Loopback, to.Port);
        return s;
    }

    [Fact]
    public void A_frame_written_after_the_budget_took_the_connection_but_before_the_sender_saw_it_still_arrives()
    {
        var got = new ConcurrentQueue<int>();
        var budget = new PeerConnectionBudget(1, TimeSpan.Zero);
        using var b = new TcpPeerNetwork((buf, off, n) => got.Enqueue(BitConverter.ToInt32(buf, off)), LinkProfile.Unlimited, null, null, budget: budget);
        using Socket sender = Connect(b);
        WriteFrame(sender, 1);
        Assert.True(Wait.Until(() => got.Count == 1), "first frame");
        // the device needs the socket for another connection: the idle inbound one goes (once its frame is handled)
        PeerConnectionBudget.Slot? other = null;
        Assert.True(Wait.Until(() => (other = budget.TryOpen(inbound: false, () => { })) != null), "the idle inbound connection was not given up");
        Assert.Equal(1, budget.Evicted);
        // a sender that looked just before (TcpPeerNetwork checks the connection before each frame) writes one more
        WriteFrame(sender, 2);
        Assert.True(Wait.Until(() => got.Count == 2, 15_000), $"received {got.Count} of 2: the frame written into the evicted connection was lost");
        Assert.Equal(new[] { 1, 2 }, got.ToArray());
        // the device closed its side, so the sender stops using the connection; the socket still counts for `other` only
        Assert.Equal(0, sender.Receive(new byte[1]));
        Assert.Equal(1, budget.OpenCount);
        other!.Release();
    }

    [Fact]
    public void A_connection_refused_for_want_of_a_socket_still_delivers_what_its_sender_wrote_into_it()
    {
        // The sender's connect succeeds in the kernel before the device takes (or refuses) the connection, so a frame
        // may already be in it: it is read, and the sender is told to go away (end of stream), not cut off.
        var got = new ConcurrentQueue<int>();
        var budget = new PeerConnectionBudget(1, TimeSpan.Zero, maxWait: TimeSpan.FromMilliseconds(50));
        using var b = new TcpPeerNetwork((buf, off, n) => got.Enqueue(BitConverter.ToInt32(buf, off)), LinkProfile.Unlimited, null, null, budget: budget);
        PeerConnectionBudget.Slot busy = budget.TryOpen(inbound: false, () => { })!;
        Assert.True(busy.BeginUse()); // the only socket carries a frame: nothing can make room
        using Socket sender = Connect(b);
        WriteFrame(sender, 7);
        Assert.True(Wait.Until(() => budget.Refused == 1, 15_000), "the connection was not refused");
        Assert.True(Wait.Until(() => got.Count == 1, 15_000), "the frame written into the refused connection was lost");
        Assert.Equal(7, got.Single());
        Assert.Equal(0, sender.Receive(new byte[1]));
        Assert.Equal(1, budget.OpenCount);
        Assert.Equal(1, budget.HighWater);
        busy.EndUse();
    }

    [Fact]
    public void A_sender_closes_a_connection_its_peer_gave_up_at_once_and_its_next_frame_arrives_on_a_new_one()
    {
        var seen = new ConcurrentQueue<(uint Connection, int Value)>();
        var budget = new PeerConnectionBudget(1, TimeSpan.Zero);
        using var b = new TcpPeerNetwork((uint c, byte[] buf, int off, int n) => seen.Enqueue((c, BitConverter.ToInt32(buf, off))), LinkProfile.Unlimited, null, null, budget: budget);
        using var a = new TcpPeerNetwork((_, _, _) => { }, LinkProfile.Unlimited, null, null);
        Assert.True(a.Send(b.Ip, b.Port, BitConverter.GetBytes(1), 0, 4));
        Assert.True(Wait.Until(() => seen.Count == 1), "first frame");
        Assert.Equal(1, a.Budget.OpenCount);
        PeerConnectionBudget.Slot? other = null;
        Assert.True(Wait.Until(() => (other = budget.TryOpen(inbound: false, () => { })) != null), "the idle inbound connection was not given up");
        // the sender does not wait for its next frame to notice: its socket is free again (and the device's drained one)
        Assert.True(Wait.Until(() => a.Budget.OpenCount == 0, 15_000), "the sender kept a connection its peer had given up");
        other!.Release();
        Assert.True(a.Send(b.Ip, b.Port, BitConverter.GetBytes(2), 0, 4));
        Assert.True(Wait.Until(() => seen.Count == 2), $"received {seen.Count} of 2");
        (uint Connection, int Value)[] all = seen.ToArray();
        Assert.Equal(new[] { 1, 2 }, all.Select(x => x.Value));
        Assert.NotEqual(all[0].Connection, all[1].Connection);
        Assert.Equal(0, a.SendFailures);
    }
}
