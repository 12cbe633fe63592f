using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using MQTTnet;

namespace IotOta.Bench;

/// <summary>
/// A Mosquitto broker in its own process for one benchmark run: a free 127.0.0.1 port, no persistence, $SYS every
/// second (its publish counters are the broker's bytes and messages out), its CPU time read from /proc.
/// </summary>
public sealed class MosquittoProcess : IAsyncDisposable
{
    public const string Binary = "/usr/sbin/mosquitto";
    private readonly Process _process;
    private readonly string _dir;
    private IMqttClient? _sys;
    private readonly Dictionary<string, long> _counters = new();
    private long _updates;
    private readonly EventHandler _onExit;
    private readonly IDisposable[] _onSignals;

    private MosquittoProcess(Process p, string dir, int port)
    {
        _process = p;
        _dir = dir;
        Port = port;
        // A bench stopped by SIGTERM (`timeout`) or Ctrl-C skips its finally blocks: take the broker along on those signals
        // and at process exit instead of leaving it running (three orphans were found after killed runs). SIGKILL still cannot.
        _onExit = (_, _) => Kill();
        AppDomain.CurrentDomain.ProcessExit += _onExit;
        _onSignals = [System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, _ => Kill()),
            System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, _ => Kill())];
    }

    private void Kill()
    {
        try { if (!_process.HasExited) _process.Kill(); } catch (Exception) { }
    }

    public string Host => "127.0.0.1";
    public int Port { get; }
    public int Pid => _process.Id;

    public static async Task<MosquittoProcess> StartAsync(CancellationToken ct)
    {
        string binary = Environment.GetEnvironmentVariable("MOSQUITTO") is { Length: > 0 } env ? env : Binary;
        if (!File.Exists(binary)) throw new InvalidOperationException($"mosquitto not found at {binary}: install it (apt-get install mosquitto) or use --broker embedded");
        string dir = Path.Combine(Path.GetTempPath(), "iotota-bench-mosquitto-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        int port;
        using (var l = new TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            l.Start();
            port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
        }
        string conf = Path.Combine(dir, "mosquitto.conf");
        // Unlimited queues: a device reads at its emulated down rate, so its QoS 1 queue may grow; Mosquitto's default
        // (1000) would drop packets the benchmark then counts as the strategy's loss.
        File.WriteAllText(conf, $"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nsys_interval 1\n" +
            "set_tcp_nodelay true\nmax_queued_messages 0\nmax_inflight_messages 0\nlog_dest none\n");
        var psi = new ProcessStartInfo(binary) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = dir };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(conf);
        var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start " + binary);
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        var m = new MosquittoProcess(p, dir, port);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            if (p.HasExited) throw new InvalidOperationException($"mosquitto exited with code {p.ExitCode} (config {conf})");
            try
            {
                using var c = new TcpClient();
                await c.ConnectAsync(m.Host, port, ct);
                break;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50, ct);
            }
        }
        await m.SubscribeSysAsync(ct);
        return m;
    }

    private async Task SubscribeSysAsync(CancellationToken ct)
    {
        _sys = new MqttClientFactory().CreateMqttClient();
        _sys.ApplicationMessageReceivedAsync += e =>
        {
            string t = e.ApplicationMessage.Topic;
            string v = System.Text.Encoding.ASCII.GetString(System.Buffers.BuffersExtensions.ToArray(e.ApplicationMessage.Payload));
            if (long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out long n))
            {
                lock (_counters)
                {
                    _counters[t] = n;
                    if (t == PublishBytesSent) _updates++;
                }
            }
            return Task.CompletedTask;
        };
        await ConnectSysAsync(ct);
    }

    private async Task ConnectSysAsync(CancellationToken ct)
    {
        // A long keep-alive and timeout: with 1,000 devices on two busy cores the broker may answer slowly.
        await _sys!.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(Host, Port).WithClientId("bench-sys").WithCleanSession(true)
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(120)).WithTimeout(TimeSpan.FromSeconds(30)).Build(), ct);
        await _sys.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter(PublishBytesSent).WithTopicFilter(PublishMessagesSent)
            .WithTopicFilter(BytesSent).WithTopicFilter(BytesReceived).Build(), ct);
    }

    public const string PublishBytesSent = "$SYS/broker/publish/bytes/sent";
    public const string PublishMessagesSent = "$SYS/broker/publish/messages/sent";
    /// <summary>Every byte on every client socket (PUBLISH and all other MQTT packets), out and in.</summary>
    public const string BytesSent = "$SYS/broker/bytes/sent";
    public const string BytesReceived = "$SYS/broker/bytes/received";

    /// <summary>All bytes sent to and received from clients so far, as of the last $SYS update (call after
    /// <see cref="FreshCountersAsync"/>).</summary>
    public (long Sent, long Received) ByteCounters()
    {
        lock (_counters) return (_counters.GetValueOrDefault(BytesSent), _counters.GetValueOrDefault(BytesReceived));
    }

    /// <summary>The broker's PUBLISH bytes and messages sent so far, as of a $SYS update that came after this call
    /// (sys_interval is 1 s; waits up to 20 s, reconnecting the $SYS subscriber if it was dropped).</summary>
    public async Task<(long Bytes, long Messages)> FreshCountersAsync(CancellationToken ct)
    {
        if (_sys is { IsConnected: false }) await ConnectSysAsync(ct);
        long seen;
        lock (_counters) seen = _updates;
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            lock (_counters)
            {
                if (_updates > seen)
                    return (_counters.GetValueOrDefault(PublishBytesSent), _counters.GetValueOrDefault(PublishMessagesSent));
            }
            await Task.Delay(50, ct);
        }
        throw new TimeoutException($"mosquitto published no {PublishBytesSent} within 20 s");
    }

    /// <summary>CPU seconds the broker process has used (user + system, from /proc/PID/stat).</summary>
    public double CpuSeconds()
    {
        try
        {
            _process.Refresh();
            return _process.TotalProcessorTime.TotalSeconds;
        }
        catch (Exception)
        {
            return 0;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_sys != null)
        {
            try { await _sys.DisconnectAsync(); } catch (Exception) { }
            _sys.Dispose();
        }
        AppDomain.CurrentDomain.ProcessExit -= _onExit;
        foreach (IDisposable r in _onSignals) r.Dispose();
        Kill();
        try { _process.WaitForExit(5000); } catch (Exception) { }
        _process.Dispose();
        try { Directory.Delete(_dir, true); } catch (Exception) { }
    }
}
