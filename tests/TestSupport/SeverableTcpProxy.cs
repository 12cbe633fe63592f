using System.Net;
using System.Net.Sockets;

namespace IotOta.TestSupport;

/// <summary>
/// A TCP relay on a free 127.0.0.1 port to one target (e.g. the broker) that can be cut and healed, like the network
/// link of one site: <see cref="Sever"/> resets every open connection (both ends see it drop, without an MQTT
/// DISCONNECT, so the broker publishes last wills) and refuses new ones (accepted and reset at once) until
/// <see cref="Heal"/>. Thread-safe.
/// </summary>
public sealed class SeverableTcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly string _targetHost;
    private readonly int _targetPort;
    private readonly CancellationTokenSource _cts = new();
    private readonly object _gate = new();
    private readonly HashSet<(Socket Client, Socket Upstream)> _links = new();
    private readonly Task _acceptLoop;
    private volatile bool _severed;
    private long _refused, _accepted, _cut, _fromTarget, _toTarget;

    public SeverableTcpProxy(string targetHost, int targetPort)
    {
        _targetHost = targetHost;
        _targetPort = targetPort;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    public string Host => "127.0.0.1";
    public int Port { get; }
    public bool IsSevered => _severed;
    /// <summary>Connections relayed (accepted while healed).</summary>
    public long Accepted => Interlocked.Read(ref _accepted);
    /// <summary>Bytes the target sent to clients through this relay (for a broker: what it sent on the wire, framing included).</summary>
    public long BytesFromTarget => Interlocked.Read(ref _fromTarget);
    /// <summary>Bytes clients sent to the target through this relay.</summary>
    public long BytesToTarget => Interlocked.Read(ref _toTarget);
    /// <summary>Connections refused while severed.</summary>
    public long Refused => Interlocked.Read(ref _refused);
    /// <summary>Open connections reset by <see cref="Sever"/>.</summary>
    public long Cut => Interlocked.Read(ref _cut);

    public int OpenConnections
    {
        get { lock (_gate) return _links.Count; }
    }

    /// <summary>Cuts the link: resets every open connection and refuses new ones.</summary>
    public void Sever()
    {
        List<(Socket, Socket)> open;
        lock (_gate)
        {
            _severed = true;
            open = _links.ToList();
            _links.Clear();
        }
        foreach (var (c, u) in open)
        {
            Interlocked.Increment(ref _cut);
            Reset(c);
            Reset(u);
        }
    }

    /// <summary>Heals the link: new connections are relayed again.</summary>
    public void Heal()
    {
        lock (_gate) _severed = false;
    }

    private static void Reset(Socket s)
    {
        try
        {
            s.LingerState = new LingerOption(true, 0); // RST, as when a link dies, not a graceful FIN
            s.Close();
        }
        catch (Exception)
        {
            // already closed
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (!_cts.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_cts.Token).ConfigureAwait(false);
            }
            catch (Exception)
            {
                if (_cts.IsCancellationRequested) return;
                continue;
            }
            if (_severed)
            {
                Interlocked.Increment(ref _refused);
                Reset(client);
                continue;
            }
            _ = Task.Run(() => RelayAsync(client));
        }
    }

    private async Task RelayAsync(Socket client)
    {
        var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.NoDelay = true;
        try
        {
            await upstream.ConnectAsync(_targetHost, _targetPort, _cts.Token).ConfigureAwait(false);
        }
        catch (Exception)
        {
            Reset(client);
            upstream.Dispose();
            return;
        }
        var link = (client, upstream);
        lock (_gate)
        {
            if (_severed)
            {
                Interlocked.Increment(ref _refused);
                Reset(client);
                Reset(upstream);
                return;
            }
            _links.Add(link);
        }
        Interlocked.Increment(ref _accepted);
        // One direction ending (either side closed) ends the relay: close both.
        await Task.WhenAny(PumpAsync(client, upstream, false), PumpAsync(upstream, client, true)).ConfigureAwait(false);
        bool mine;
        lock (_gate) mine = _links.Remove(link);
        if (mine)
        {
            try { client.Shutdown(SocketShutdown.Both); } catch (Exception) { }
            try { upstream.Shutdown(SocketShutdown.Both); } catch (Exception) { }
            client.Dispose();
            upstream.Dispose();
        }
    }

    private async Task PumpAsync(Socket from, Socket to, bool fromTarget)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                int n = await from.ReceiveAsync(buffer, SocketFlags.None, _cts.Token).ConfigureAwait(false);
                if (n == 0) return;
                int sent = 0;
                while (sent < n) sent += await to.SendAsync(buffer.AsMemory(sent, n - sent), SocketFlags.None, _cts.Token).ConfigureAwait(false);
                Interlocked.Add(ref fromTarget ? ref _fromTarget : ref _toTarget, n);
            }
        }
        catch (Exception)
        {
            // reset, disposed or cancelled: the relay ends
        }
    }

    public async ValueTask DisposeAsync()
    {
        _cts.Cancel();
        _listener.Stop();
        try { await _acceptLoop.ConfigureAwait(false); } catch (Exception) { }
        Sever();
        _cts.Dispose();
    }
}
