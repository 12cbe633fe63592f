using System.Net;
using System.Net.Sockets;
using IotOta.VirtualDevice.Network;

namespace IotOta.Bench;

/// <summary>
/// The broker's link to the fleet (the first network's server side): a TCP relay on 127.0.0.1 in front of the broker
/// that every device connects through. Bytes from the broker to the devices pass one shared <see cref="TokenBucket"/>
/// at the site's uplink rate, so everything the broker sends to the fleet together never exceeds it; bytes from the
/// devices to the broker pass unshaped (each device's own up bucket already limits them). The gateway connects to the
/// broker directly. Without this the emulated broker uploads at loopback speed, an extra server the Kumar–Ross bound
/// does not count (group-fanout then pushed 102 MiB through it at N = 100).
/// </summary>
public sealed class BrokerUplink : IAsyncDisposable
{
    private const int BufferBytes = 16 * 1024;
    private readonly TcpListener _listener;
    private readonly string _targetHost;
    private readonly int _targetPort;
    private readonly TokenBucket _bucket;
    private readonly CancellationTokenSource _cts = new();
    private readonly object _gate = new();
    private readonly List<Socket> _open = new();
    private readonly Task _acceptLoop;
    private long _bytesDown;

    public BrokerUplink(string targetHost, int targetPort, double bytesPerSecond)
    {
        if (!(bytesPerSecond > 0) || double.IsInfinity(bytesPerSecond)) throw new ArgumentOutOfRangeException(nameof(bytesPerSecond), bytesPerSecond, "the broker's uplink needs a positive, finite rate");
        _targetHost = targetHost;
        _targetPort = targetPort;
        _bucket = new TokenBucket(bytesPerSecond, BufferBytes, creditWhileIdle: false);
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start(1024);
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    public string Host => "127.0.0.1";
    public int Port { get; }
    public double BytesPerSecond => _bucket.BytesPerSecond;
    /// <summary>Bytes relayed from the broker to devices (MQTT packets incl. headers).</summary>
    public long BytesDown => Interlocked.Read(ref _bytesDown);

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
            client.Dispose();
            upstream.Dispose();
            return;
        }
        lock (_gate)
        {
            _open.Add(client);
            _open.Add(upstream);
        }
        // Either direction ending (a device powered off, the broker gone) ends the relay: close both, so the other
        // side sees the drop as it would on a real link (the broker then publishes the device's will).
        await Task.WhenAny(PumpAsync(client, upstream, shaped: false), PumpAsync(upstream, client, shaped: true)).ConfigureAwait(false);
        lock (_gate)
        {
            _open.Remove(client);
            _open.Remove(upstream);
        }
        client.Dispose();
        upstream.Dispose();
    }

    private async Task PumpAsync(Socket from, Socket to, bool shaped)
    {
        var buffer = new byte[BufferBytes];
        try
        {
            while (true)
            {
                int n = await from.ReceiveAsync(buffer, SocketFlags.None, _cts.Token).ConfigureAwait(false);
                if (n == 0) return;
                if (shaped)
                {
                    await _bucket.ConsumeAsync(n, _cts.Token).ConfigureAwait(false);
                    Interlocked.Add(ref _bytesDown, n);
                }
                int sent = 0;
                while (sent < n) sent += await to.SendAsync(buffer.AsMemory(sent, n - sent), SocketFlags.None, _cts.Token).ConfigureAwait(false);
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
        List<Socket> open;
        lock (_gate)
        {
            open = _open.ToList();
            _open.Clear();
        }
        foreach (Socket s in open) s.Dispose();
        _cts.Dispose();
    }
}
