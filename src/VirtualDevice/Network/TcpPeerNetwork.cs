using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using IotOta.DeviceFirmware.Ports;

namespace IotOta.VirtualDevice.Network;

/// <summary>
/// The peer network over loopback TCP. Each message travels as one frame: a 4-byte little-endian length, then the
/// bytes. No thread per device: accepts and reads are asynchronous (the runtime's socket engine waits on epoll for
/// every device of the process); the handler runs on a pool thread, one frame at a time per connection, in order; the
/// buffer is reused, so the handler must not keep it. Outbound: one persistent connection per destination, made on
/// demand; the up bucket, latency and loss of the link apply to every message. Every connection, inbound or
/// outbound, takes a slot of the device's <see cref="PeerConnectionBudget"/> (its socket budget, as on a board): past
/// the limit the longest-idle connection is closed to make room, and when none is idle the new one is refused
/// (counted in <see cref="Budget"/>); an inbound connection closed or refused that way is drained
/// (<see cref="PeerInbound.Drain"/>), so no frame its sender wrote is lost. Send never throws: it returns false when
/// the peer cannot be reached.
/// </summary>
public sealed class TcpPeerNetwork : IPeerPort, IDisposable
{
    public const int MaxFrameLength = 128 * 1024;
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(2);
    public const int SendTimeoutMs = 30_000;

    private readonly Action<uint, byte[], int, int> _onMessage;
    private int _nextConnectionId;
    private readonly LinkProfile _link;
    private readonly TokenBucket? _up;
    private readonly TokenBucket? _down;
    private readonly TcpListener _listener;
    private readonly Task _acceptLoop;
    private readonly CancellationTokenSource _cts = new();
    private readonly ConcurrentDictionary<long, PeerOutbound> _outbound = new();
    private readonly ConcurrentDictionary<PeerInbound, byte> _inbound = new();
    private long _messagesSent, _bytesSent, _messagesReceived, _bytesReceived, _dropped, _sendFailures, _handlerErrors;
    private volatile bool _disposed;

    /// <summary>As below, for a handler that does not need to know which connection a message came on.</summary>
    public TcpPeerNetwork(Action<byte[], int, int> onMessage, LinkProfile link, TokenBucket? upBucket, TokenBucket? downBucket, int port = 0,
        PeerConnectionBudget? budget = null)
        : this(onMessage == null ? null! : (_, b, o, c) => onMessage(b, o, c), link, upBucket, downBucket, port, budget)
    {
    }

    /// <summary>The handler gets a connection id (1, 2, …; stable for the life of one inbound connection) with each
    /// message, so a device can quarantine a connection that delivers bad packets. <paramref name="budget"/>: the
    /// device's socket budget for peers (null = unlimited, high-water mark still kept).</summary>
    public TcpPeerNetwork(Action<uint, byte[], int, int> onMessage, LinkProfile link, TokenBucket? upBucket, TokenBucket? downBucket, int port = 0,
        PeerConnectionBudget? budget = null)
    {
        _onMessage = onMessage ?? throw new ArgumentNullException(nameof(onMessage));
        _link = link ?? LinkProfile.Unlimited;
        _up = upBucket;
        _down = downBucket;
        Budget = budget ?? new PeerConnectionBudget(0);
        _listener = new TcpListener(IPAddress.Loopback, port);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        Ip = IpCodec.ToUInt(IPAddress.Loopback);
        _acceptLoop = AcceptLoopAsync();
    }

    /// <summary>The port this network listens on.</summary>
    public int Port { get; }
    /// <summary>The address this network listens on, as IPeerPort encodes it (127.0.0.1 = 0x0100007F).</summary>
    public uint Ip { get; }
    public LinkProfile Link => _link;
    /// <summary>The device's peer socket budget: open connections, their high-water mark, refusals, evictions.</summary>
    public PeerConnectionBudget Budget { get; }
    public long MessagesSent => Interlocked.Read(ref _messagesSent);
    public long BytesSent => Interlocked.Read(ref _bytesSent);
    public long MessagesReceived => Interlocked.Read(ref _messagesReceived);
    public long BytesReceived => Interlocked.Read(ref _bytesReceived);
    /// <summary>Messages dropped on purpose by the link's loss rate (Send returned true).</summary>
    public long Dropped => Interlocked.Read(ref _dropped);
    /// <summary>Sends that failed because the peer could not be reached (Send returned false).</summary>
    public long SendFailures => Interlocked.Read(ref _sendFailures);
    /// <summary>Messages whose handler threw (the exception is kept in <see cref="LastHandlerError"/>).</summary>
    public long HandlerErrors => Interlocked.Read(ref _handlerErrors);
    public Exception? LastHandlerError { get; private set; }

    public bool Send(uint ip, int port, byte[] buffer, int offset, int count)
    {
        if (buffer == null || offset < 0 || count < 0 || (long)offset + count > buffer.Length) return Fail();
        return SendFrame(ip, port, count, buffer, offset, null, null);
    }

    /// <summary>One frame whose bytes message writes into piece, piece by piece (the device streams a copy from its
    /// flash); a message that abandons the frame midway closes the connection (the receiver drops the torn frame).</summary>
    public bool SendPieces(uint ip, int port, IPeerMessage message, int count, byte[] piece)
    {
        if (message == null || piece == null || piece.Length == 0 || count < 0) return Fail();
        return SendFrame(ip, port, count, null, 0, message, piece);
    }

    private bool SendFrame(uint ip, int port, int count, byte[]? buffer, int offset, IPeerMessage? message, byte[]? piece)
    {
        if (_disposed || count > MaxFrameLength || port <= 0 || port > 65535) return Fail();
        try
        {
            _up?.Consume(count, _cts.Token);
            if (_link.LossRate > 0 && (_link.LossRate >= 1 || Random.Shared.NextDouble() < _link.LossRate))
            {
                Interlocked.Increment(ref _dropped);
                return true;
            }
            if (_link.Latency > TimeSpan.Zero)
            {
                if (_cts.Token.WaitHandle.WaitOne(_link.Latency)) return Fail();
            }
            PeerOutbound o = _outbound.GetOrAdd(((long)ip << 16) | (uint)port, _ => new PeerOutbound());
            lock (o)
            {
                if (_disposed) return Fail();
                if (o.Socket != null && !IsAlive(o.Socket)) o.Close();
                // a connection kept from an earlier frame starts a use now; a new one comes in use (PeerOutbound.Connect)
                PeerConnectionBudget.Slot? slot = o.Socket == null ? null : o.Slot;
                if (slot == null || !slot.BeginUse())
                {
                    // none yet, or evicted between the check and now: connect
                    o.Close();
                    if (!o.Connect(IpCodec.ToAddress(ip), port, Budget, _cts.Token) || (slot = o.Slot) == null) return Fail();
                }
                BinaryPrimitives.WriteInt32LittleEndian(o.Header, count);
                try
                {
                    if (message == null)
                    {
                        o.Segments[1] = new ArraySegment<byte>(buffer!, offset, count);
                        try
                        {
                            Socket? socket = o.Socket;
                            int sent = socket == null ? -1 : socket.Send(o.Segments);
                            if (sent != 4 + count)
                            {
                                o.Close();
                                return Fail();
                            }
                        }
                        finally
                        {
                            o.Segments[1] = default;
                        }
                    }
                    else if (o.Socket == null || !SendPiecesLocked(o, message, count, piece!))
                    {
                        o.Close();
                        return Fail();
                    }
                }
                finally
                {
                    slot.EndUse(); // the budget may evict it again once idle
                }
            }
            Interlocked.Increment(ref _messagesSent);
            Interlocked.Add(ref _bytesSent, count);
            return true;
        }
        catch (Exception)
        {
            if (_outbound.TryGetValue(((long)ip << 16) | (uint)port, out PeerOutbound? o))
            {
                lock (o) o.Close();
            }
            return Fail();
        }
    }

    private static bool SendPiecesLocked(PeerOutbound o, IPeerMessage message, int count, byte[] piece)
    {
        Socket s = o.Socket!;
        if (s.Send(o.Header) != 4) return false;
        for (int at = 0; at < count; at += piece.Length)
        {
            int n = Math.Min(piece.Length, count - at);
            if (!message.ReadPiece(at, piece, 0, n)) return false;
            int done = 0;
            while (done < n)
            {
                int k = s.Send(piece, done, n - done, SocketFlags.None);
                if (k <= 0) return false;
                done += k;
            }
        }
        return true;
    }

    private bool Fail()
    {
        Interlocked.Increment(ref _sendFailures);
        return false;
    }

    /// <summary>False when the peer has closed the connection (readable with nothing to read) or it errored.</summary>
    private static bool IsAlive(Socket s)
    {
        try
        {
            if (!s.Connected) return false;
            if (s.Poll(0, SelectMode.SelectError)) return false;
            return !(s.Poll(0, SelectMode.SelectRead) && s.Available == 0);
        }
        catch (Exception)
        {
            return false;
        }
    }

    private async Task AcceptLoopAsync()
    {
        await Task.Yield();
        while (!_disposed)
        {
            Socket s;
            try
            {
                s = await _listener.AcceptSocketAsync(_cts.Token).ConfigureAwait(false);
            }
            catch (Exception)
            {
                if (_disposed) return;
                continue;
            }
            if (_disposed)
            {
                s.Dispose();
                return;
            }
            var c = new PeerInbound(s, (uint)Interlocked.Increment(ref _nextConnectionId), _cts.Token);
            s.NoDelay = true;
            _inbound[c] = 0;
            // Every socket of the device busy: the connection waits (unread, in order) for one to free; connections
            // behind it wait in the listen backlog meanwhile. When none frees it is refused (counted by the budget), by
            // a drain: its sender may already have written a frame into it (its connect succeeded in the kernel), which
            // is still delivered; it then sees this side closed and stops using the connection.
            PeerConnectionBudget.Slot? slot = await Budget.OpenAsync(inbound: true, c.Drain, _cts.Token).ConfigureAwait(false);
            if (slot == null) c.Drain();
            else c.Slot = slot;
            c.Reader = ReadLoopAsync(c);
        }
    }

    private async Task ReadLoopAsync(PeerInbound c)
    {
        byte[] header = new byte[4];
        byte[] buffer = new byte[4096];
        CancellationToken ct = c.Reads;
        try
        {
            await Task.Yield();
            while (!_disposed)
            {
                if (!await ReadExactlyAsync(c.Socket, header, 4, ct).ConfigureAwait(false)) return;
                // false once the budget drained the connection (see PeerInbound.Drain): its frames are still read
                PeerConnectionBudget.Slot? slot = c.Slot;
                bool inUse = slot != null && slot.BeginUse();
                int len = BinaryPrimitives.ReadInt32LittleEndian(header);
                if (len < 0 || len > MaxFrameLength) return;
                if (buffer.Length < len) buffer = new byte[Math.Min(MaxFrameLength, Math.Max(len, buffer.Length * 2))];
                if (!await ReadExactlyAsync(c.Socket, buffer, len, ct).ConfigureAwait(false)) return;
                if (_down != null) await _down.ConsumeAsync(len, ct).ConfigureAwait(false);
                Interlocked.Increment(ref _messagesReceived);
                Interlocked.Add(ref _bytesReceived, len);
                try
                {
                    _onMessage(c.Id, buffer, 0, len);
                }
                catch (Exception e)
                {
                    LastHandlerError = e;
                    Interlocked.Increment(ref _handlerErrors);
                }
                if (inUse) slot!.EndUse();
            }
        }
        catch (Exception)
        {
            // socket closed or disposed, or a drain timed out: the connection ends
        }
        finally
        {
            _inbound.TryRemove(c, out _);
            c.Close();
        }
    }

    private static async ValueTask<bool> ReadExactlyAsync(Socket s, byte[] buffer, int count, CancellationToken ct)
    {
        int got = 0;
        while (got < count)
        {
            int n = await s.ReceiveAsync(buffer.AsMemory(got, count - got), SocketFlags.None, ct).ConfigureAwait(false);
            if (n <= 0) return false;
            got += n;
        }
        return true;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _cts.Cancel();
        try { _listener.Stop(); } catch (Exception) { }
        Task[] readers = _inbound.Keys.Select(c => c.Reader).Where(t => t != null).ToArray()!;
        foreach (PeerInbound c in _inbound.Keys) c.Close();
        foreach (PeerOutbound o in _outbound.Values)
        {
            // Close without taking the lock: a sender blocked in Send is woken by the socket closing.
            o.Close();
        }
        try { _acceptLoop.Wait(TimeSpan.FromSeconds(2)); } catch (AggregateException) { }
        try { Task.WaitAll(readers, TimeSpan.FromMilliseconds(500)); } catch (AggregateException) { }
        _cts.Dispose();
    }
}
