using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using IotOta.VirtualDevice.Network;
using IotOta.VirtualDevice.Tests.Support;

namespace IotOta.VirtualDevice.Tests.Network;

public sealed class TcpPeerNetworkTests
{
    private static byte[] Message(int i)
    {
        int len = (i * 7919) % 70_000 + (i % 3 == 0 ? 0 : 1);
        if (i == 99) len = TcpPeerNetwork.MaxFrameLength;
        byte[] m = new byte[len];
        new Random(i).NextBytes(m);
        return m;
    }

    [Fact]
    public void Two_instances_exchange_100_messages_intact_and_in_order()
    {
        var got = new ConcurrentQueue<byte[]>();
        using var b = new TcpPeerNetwork((buf, off, n) => got.Enqueue(buf.AsSpan(off, n).ToArray()), LinkProfile.Unlimited, null, null);
        using var a = new TcpPeerNetwork((_, _, _) => { }, LinkProfile.Unlimited, null, null);
        Assert.Equal(0x0100007Fu, b.Ip);
        Assert.NotEqual(0, b.Port);

        long bytes = 0;
        byte[] padded = new byte[TcpPeerNetwork.MaxFrameLength + 10];
        for (int i = 0; i < 100; i++)
        {
            byte[] m = Message(i);
            bytes += m.Length;
            m.CopyTo(padded, 5); // send from an offset inside a bigger buffer
            Assert.True(a.Send(b.Ip, b.Port, padded, 5, m.Length), "send " + i);
        }
        Assert.True(Wait.Until(() => got.Count == 100), $"received {got.Count} of 100");
        byte[][] all = got.ToArray();
        for (int i = 0; i < 100; i++) Assert.Equal(Message(i), all[i]);
        Assert.Equal(100, a.MessagesSent);
        Assert.Equal(bytes, a.BytesSent);
        Assert.Equal(100, b.MessagesReceived);
        Assert.Equal(bytes, b.BytesReceived);
    }

    [Fact]
    public void Messages_go_both_ways_and_from_several_threads()
    {
        var toB = new ConcurrentBag<int>();
        var toA = new ConcurrentBag<int>();
        using var a = new TcpPeerNetwork((buf, off, n) => toA.Add(BitConverter.ToInt32(buf, off)), LinkProfile.Unlimited, null, null);
        using var b = new TcpPeerNetwork((buf, off, n) => toB.Add(BitConverter.ToInt32(buf, off)), LinkProfile.Unlimited, null, null);
        Parallel.For(0, 200, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            byte[] m = new byte[1000 + i];
            BitConverter.TryWriteBytes(m, i);
            Assert.True(i % 2 == 0 ? a.Send(b.Ip, b.Port, m, 0, m.Length) : b.Send(a.Ip, a.Port, m, 0, m.Length));
        });
        Assert.True(Wait.Until(() => toA.Count + toB.Count == 200));
        Assert.Equal(Enumerable.Range(0, 100).Select(i => 2 * i), toB.OrderBy(x => x));
        Assert.Equal(Enumerable.Range(0, 100).Select(i => 2 * i + 1), toA.OrderBy(x => x));
    }

    [Fact]
    public void Send_to_a_closed_port_returns_false()
    {
        using var a = new TcpPeerNetwork((_, _, _) => { }, LinkProfile.Unlimited, null, null);
        // a port that is bound but not listening refuses connections, and nobody else can take it meanwhile
        using var holder = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        holder.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        int closed = ((IPEndPoint)holder.LocalEndPoint!).Port;
        var sw = Stopwatch.StartNew();
        Assert.False(a.Send(IpCodec.Loopback, closed, new byte[10], 0, 10));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(3));
        Assert.Equal(0, a.MessagesSent);
        Assert.Equal(1, a.SendFailures);
    }

    [Fact]
    public void Send_after_the_peer_went_away_returns_false_and_reconnects_when_it_is_back()
    {
        var got = new ConcurrentQueue<int>();
        using var a = new TcpPeerNetwork((_, _, _) => { }, LinkProfile.Unlimited, null, null);
        var b = new TcpPeerNetwork((buf, off, n) => got.Enqueue(n), LinkProfile.Unlimited, null, null);
        int port = b.Port;
        Assert.True(a.Send(b.Ip, port, new byte[3], 0, 3));
        Assert.True(Wait.Until(() => got.Count == 1));
        b.Dispose();
        Assert.True(Wait.Until(() => !a.Send(IpCodec.Loopback, port, new byte[3], 0, 3), 2000), "sends to a dead peer keep succeeding");

        using var b2 = new TcpPeerNetwork((buf, off, n) => got.Enqueue(n), LinkProfile.Unlimited, null, null, port);
        Assert.True(a.Send(IpCodec.Loopback, port, new byte[4], 0, 4));
        Assert.True(Wait.Until(() => got.Count == 2));
        Assert.Equal(4, got.Last());
    }

    [Fact]
    public void Loss_rate_one_drops_everything()
    {
        int received = 0;
        using var b = new TcpPeerNetwork((_, _, _) => Interlocked.Increment(ref received), LinkProfile.Unlimited, null, null);
        var lossy = LinkProfile.Unlimited with { LossRate = 1.0 };
        using var a = new TcpPeerNetwork((_, _, _) => { }, lossy, null, null);
        for (int i = 0; i < 20; i++) Assert.True(a.Send(b.Ip, b.Port, new byte[100], 0, 100));
        Assert.Equal(20, a.Dropped);
        Assert.Equal(0, a.MessagesSent);
        Thread.Sleep(100);
        Assert.Equal(0, Volatile.Read(ref received));
    }

    [Fact]
    public void Partial_loss_drops_some()
    {
        int received = 0;
        using var b = new TcpPeerNetwork((_, _, _) => Interlocked.Increment(ref received), LinkProfile.Unlimited, null, null);
        using var a = new TcpPeerNetwork((_, _, _) => { }, LinkProfile.Unlimited with { LossRate = 0.5 }, null, null);
        for (int i = 0; i < 400; i++) Assert.True(a.Send(b.Ip, b.Port, new byte[10], 0, 10));
        Assert.InRange(a.Dropped, 100, 300);
        Assert.True(Wait.Until(() => Volatile.Read(ref received) == 400 - a.Dropped));
    }

    [Fact]
    public void Latency_delays_each_message()
    {
        int received = 0;
        using var b = new TcpPeerNetwork((_, _, _) => Interlocked.Increment(ref received), LinkProfile.Unlimited, null, null);
        using var a = new TcpPeerNetwork((_, _, _) => { }, LinkProfile.Unlimited with { Latency = TimeSpan.FromMilliseconds(40) }, null, null);
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < 3; i++) Assert.True(a.Send(b.Ip, b.Port, new byte[10], 0, 10));
        Assert.True(sw.ElapsedMilliseconds >= 110, $"3 messages with 40 ms latency took {sw.ElapsedMilliseconds} ms");
        Assert.True(Wait.Until(() => Volatile.Read(ref received) == 3));
    }

    [Fact]
    public void Up_and_down_buckets_are_consumed()
    {
        int received = 0;
        var up = new TokenBucket(1e9, 1000);
        var down = new TokenBucket(1e9, 1000);
        using var b = new TcpPeerNetwork((_, _, _) => Interlocked.Increment(ref received), LinkProfile.Unlimited, null, down);
        using var a = new TcpPeerNetwork((_, _, _) => { }, LinkProfile.Unlimited, up, null);
        for (int i = 0; i < 5; i++) Assert.True(a.Send(b.Ip, b.Port, new byte[300], 0, 300));
        Assert.True(Wait.Until(() => Volatile.Read(ref received) == 5));
        Assert.Equal(1500, up.TotalConsumed);
        Assert.Equal(1500, down.TotalConsumed);
    }

    [Fact]
    public void Upload_rate_limits_throughput()
    {
        int received = 0;
        using var b = new TcpPeerNetwork((_, _, _) => Interlocked.Increment(ref received), LinkProfile.Unlimited, null, null);
        using var a = new TcpPeerNetwork((_, _, _) => { }, LinkProfile.Unlimited, new TokenBucket(500_000, 10_000), null);
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < 10; i++) Assert.True(a.Send(b.Ip, b.Port, new byte[10_000], 0, 10_000));
        // 100 KB, 10 KB burst, 500 KB/s: at least 0.18 s
        Assert.True(sw.Elapsed.TotalSeconds >= 0.15, $"took {sw.Elapsed.TotalSeconds:F3} s");
        Assert.True(Wait.Until(() => Volatile.Read(ref received) == 10));
    }

    [Fact]
    public void Oversized_frame_closes_the_connection_without_delivery()
    {
        int received = 0;
        using var b = new TcpPeerNetwork((_, _, _) => Interlocked.Increment(ref received), LinkProfile.Unlimited, null, null);
        using var raw = new TcpClient();
        raw.Connect(IPAddress.Loopback, b.Port);
        NetworkStream s = raw.GetStream();
        byte[] header = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(header, TcpPeerNetwork.MaxFrameLength + 1);
        s.Write(header);
        s.ReadTimeout = 3000;
        byte[] one = new byte[1];
        int n;
        try { n = s.Read(one, 0, 1); } catch (IOException) { n = 0; }
        Assert.Equal(0, n); // closed by the receiver
        Assert.Equal(0, Volatile.Read(ref received));
        Assert.Equal(0, b.MessagesReceived);
        // too-big sends are refused locally
        using var a = new TcpPeerNetwork((_, _, _) => { }, LinkProfile.Unlimited, null, null);
        Assert.False(a.Send(b.Ip, b.Port, new byte[TcpPeerNetwork.MaxFrameLength + 1], 0, TcpPeerNetwork.MaxFrameLength + 1));
    }

    [Fact]
    public void Handler_exceptions_are_counted_and_the_connection_goes_on()
    {
        int calls = 0;
        using var b = new TcpPeerNetwork((_, _, _) =>
        {
            if (Interlocked.Increment(ref calls) == 1) throw new InvalidOperationException("boom");
        }, LinkProfile.Unlimited, null, null);
        using var a = new TcpPeerNetwork((_, _, _) => { }, LinkProfile.Unlimited, null, null);
        Assert.True(a.Send(b.Ip, b.Port, new byte[1], 0, 1));
        Assert.True(a.Send(b.Ip, b.Port, new byte[1], 0, 1));
        Assert.True(Wait.Until(() => Volatile.Read(ref calls) == 2));
        Assert.Equal(1, b.HandlerErrors);
        Assert.IsType<InvalidOperationException>(b.LastHandlerError);
    }

    [Fact]
    public void Dispose_is_prompt_and_sends_after_it_fail()
    {
        var handlerEntered = new ManualResetEventSlim();
        var b = new TcpPeerNetwork((_, _, _) => { handlerEntered.Set(); }, LinkProfile.Unlimited, null, new TokenBucket(1000, 1));
        var a = new TcpPeerNetwork((_, _, _) => { }, LinkProfile.Unlimited, null, null);
        // b's down bucket makes its reader wait ~10 s for this frame; Dispose must not wait for that.
        Assert.True(a.Send(b.Ip, b.Port, new byte[10_000], 0, 10_000));
        Thread.Sleep(50);
        var sw = Stopwatch.StartNew();
        b.Dispose();
        a.Dispose();
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(2), $"dispose took {sw.Elapsed}");
        Assert.False(handlerEntered.IsSet);
        Assert.False(a.Send(b.Ip, b.Port, new byte[1], 0, 1));
        using var probe = new TcpClient();
        Assert.ThrowsAny<SocketException>(() => probe.Connect(IPAddress.Loopback, b.Port));
    }
    [Fact]
    public void Each_inbound_connection_has_its_own_stable_id()
    {
        var seen = new ConcurrentQueue<(uint Connection, byte Sender)>();
        using var b = new TcpPeerNetwork((uint c, byte[] buf, int off, int n) => seen.Enqueue((c, buf[off])), LinkProfile.Unlimited, null, null);
        using var a1 = new TcpPeerNetwork((_, _, _) => { }, LinkProfile.Unlimited, null, null);
        using var a2 = new TcpPeerNetwork((_, _, _) => { }, LinkProfile.Unlimited, null, null);
        for (int i = 0; i < 5; i++)
        {
            Assert.True(a1.Send(b.Ip, b.Port, new byte[] { 1 }, 0, 1));
            Assert.True(a2.Send(b.Ip, b.Port, new byte[] { 2 }, 0, 1));
        }
        Assert.True(Wait.Until(() => seen.Count == 10), $"received {seen.Count} of 10");
        var bySender = seen.GroupBy(x => x.Sender).ToDictionary(g => g.Key, g => g.Select(x => x.Connection).Distinct().ToList());
        Assert.Single(bySender[1]);
        Assert.Single(bySender[2]);
        Assert.NotEqual(bySender[1][0], bySender[2][0]);
        Assert.DoesNotContain(0u, bySender.Values.SelectMany(v => v));
    }
}
