using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Security.Cryptography;
using IotOta.Simulation.Fleet;
using IotOta.Gateway.Mqtt;
using IotOta.Simulation.Demo;
using IotOta.VirtualDevice.Host;

namespace IotOta.Bench;

/// <summary>The virtual fleet of one bench run: in the bench process (as before) or split over fleet worker processes.</summary>
public interface IBenchFleet : IAsyncDisposable
{
    /// <summary>Fleet worker processes (0: the fleet runs in the bench process).</summary>
    int Workers { get; }
    /// <summary>Devices that know every member of their group.</summary>
    Task<int> FullyMemberedAsync(CancellationToken ct);
    /// <summary>Powers device <paramref name="index"/> (0-based, node id index + 1) off and on again after <paramref name="offFor"/>.</summary>
    Task RestartDeviceAsync(int index, TimeSpan offFor, CancellationToken ct);
    /// <summary>Every device's figures; slots are checked against the image.</summary>
    Task<DeviceFigures[]> ReportAsync(byte[] image, CancellationToken ct);
    /// <summary>The workers' CPU by thread name since the last call ("" in process, where ThreadCpu sees it all).</summary>
    Task<string> ThreadsAsync(CancellationToken ct);
    /// <summary>CPU seconds the fleet's worker processes have used so far (0 in process).</summary>
    double WorkerCpuSeconds();
    /// <summary>Resident bytes of the worker processes now (0 in process).</summary>
    long WorkerRssBytes();
}

/// <summary>The fleet in the bench process (today's path).</summary>
public sealed class InProcessFleet(VirtualFleet fleet) : IBenchFleet
{
    public VirtualFleet Fleet => fleet;
    public int Workers => 0;

    public Task<int> FullyMemberedAsync(CancellationToken ct) =>
        Task.FromResult(MemberLists.CompleteCount(fleet.Devices));

    public Task RestartDeviceAsync(int index, TimeSpan offFor, CancellationToken ct) => fleet.RestartDeviceAsync(index, offFor, ct);

    public Task<DeviceFigures[]> ReportAsync(byte[] image, CancellationToken ct) =>
        Task.FromResult(fleet.Devices.Select(d =>
        {
            var repair = d.RepairFigures;
            return new DeviceFigures(d.NodeId, d.PeerPayloadBytesSent, d.CoreAllocatedBytes, d.CoreMessages,
                !d.IsStopped && DemoRunner.SlotMatches(d, image), d.PeerConnectionsMax, d.PeerConnectionsRefused,
                repair.ToPeers, repair.ToGateway, repair.Duplicates);
        }).ToArray());

    public Task<string> ThreadsAsync(CancellationToken ct) => Task.FromResult("");
    public double WorkerCpuSeconds() => 0;
    public long WorkerRssBytes() => 0;
    public ValueTask DisposeAsync() => fleet.DisposeAsync();
}

/// <summary>The fleet split over fleet worker processes (this executable with <c>--fleet-worker</c>), one
/// <see cref="FleetPlan"/> slice each, spoken to with <see cref="WorkerProtocol"/>.</summary>
public sealed class WorkerFleet : IBenchFleet
{
    private readonly FleetPlan _plan;
    private readonly List<WorkerClient> _clients = new();

    private WorkerFleet(FleetPlan plan) => _plan = plan;

    public int Workers => _plan.Workers;

    public static async Task<WorkerFleet> StartAsync(FleetPlan plan, Func<int, WorkerArgs> argsFor, IReadOnlyList<string> benchArgs,
        Action<string>? log, TimeSpan startTimeout, CancellationToken ct)
    {
        var fleet = new WorkerFleet(plan);
        try
        {
            for (int w = 0; w < plan.Workers; w++) fleet._clients.Add(WorkerClient.Start(argsFor(w), benchArgs, log));
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(startTimeout);
            await Task.WhenAll(fleet._clients.Select(c => c.Ready.WaitAsync(timeout.Token)));
            return fleet;
        }
        catch
        {
            await fleet.DisposeAsync();
            throw;
        }
    }

    public async Task<int> FullyMemberedAsync(CancellationToken ct)
    {
        var replies = await Task.WhenAll(_clients.Select(c => c.RequestAsync("members", ct)));
        return replies.Sum(r => int.Parse(r.Split(' ')[0], CultureInfo.InvariantCulture));
    }

    public Task RestartDeviceAsync(int index, TimeSpan offFor, CancellationToken ct)
    {
        var (w, local) = _plan.Locate(index);
        return _clients[w].RequestAsync("restart", ct, local, (int)offFor.TotalMilliseconds);
    }

    public async Task<DeviceFigures[]> ReportAsync(byte[] image, CancellationToken ct)
    {
        string sha = Convert.ToHexString(SHA256.HashData(image));
        var replies = await Task.WhenAll(_clients.Select(c => c.RequestAsync("report", ct, sha, image.Length)));
        return replies.SelectMany(WorkerProtocol.ParseFigures).ToArray();
    }

    public async Task<string> ThreadsAsync(CancellationToken ct)
    {
        var replies = await Task.WhenAll(_clients.Select(c => c.RequestAsync("threads", ct)));
        return string.Join("; ", replies.Select((r, i) => $"worker {i + 1}: {r}"));
    }

    public double WorkerCpuSeconds() => _clients.Sum(c => c.CpuSeconds());
    public long WorkerRssBytes() => _clients.Sum(c => c.RssBytes());
    internal IReadOnlyList<WorkerClient> Clients => _clients;

    /// <summary>Open descriptors of the fullest worker now.</summary>
    public int MaxOpenFiles() => _clients.Count == 0 ? 0 : _clients.Max(c => OpenFiles.Count(c.ProcessId));

    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(_clients.Select(c => c.DisposeAsync().AsTask()));
        _clients.Clear();
    }
}

/// <summary>One fleet worker process: requests out on its stdin, replies matched by id from its stdout. Disposing
/// asks it to quit, closes its stdin and kills it if it is still there after a few seconds.</summary>
public sealed class WorkerClient : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentDictionary<long, TaskCompletionSource<string>> _pending = new();
    private readonly TaskCompletionSource<string> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private readonly Task _reader;
    private readonly string _name;
    private static readonly ConcurrentDictionary<WorkerClient, bool> Live = new();
    private readonly int _pid;
    private long _nextId;
    private double _lastCpu;

    static WorkerClient()
    {
        // A bench that ends without disposing its fleet (an unhandled exception, SIGTERM) still takes its workers
        // down; a bench that is killed outright closes their stdin, on which they exit themselves.
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (var c in Live.Keys)
            {
                try { c._process.Kill(entireProcessTree: true); } catch (Exception) { }
            }
        };
    }
    private int _disposed;

    private WorkerClient(Process process, string name)
    {
        _process = process;
        _pid = process.Id;
        _name = name;
        Live[this] = true;
        _reader = Task.Run(ReadLoopAsync);
    }

    public Task Ready => _ready.Task;
    public int ProcessId => _process.Id;

    /// <summary>The command that starts this executable again: the apphost itself, or `dotnet bench.dll` when run through dotnet.</summary>
    public static (string File, List<string> Args) SelfCommand()
    {
        string? path = Environment.ProcessPath;
        var bench = typeof(WorkerClient).Assembly;
        // The bench's own apphost; else (run as `dotnet IotOta.Bench.dll`, or from a test host) dotnet with the bench's dll.
        if (path != null && Assembly.GetEntryAssembly() == bench && !IsDotnet(path)) return (path, []);
        return (path != null && IsDotnet(path) ? path : "dotnet", [bench.Location]);
    }

    private static bool IsDotnet(string path) => Path.GetFileNameWithoutExtension(path).Equals("dotnet", StringComparison.OrdinalIgnoreCase);

    /// <summary>Closes the worker's stdin (as the bench's death does); it should then exit by itself.</summary>
    internal void CloseInput() => _process.StandardInput.Close();

    internal Process Process => _process;

    public static WorkerClient Start(WorkerArgs args, IReadOnlyList<string> benchArgs, Action<string>? log)
    {
        var (file, prefix) = SelfCommand();
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = false, UseShellExecute = false,
        };
        foreach (string a in prefix.Concat(args.ToArgs(benchArgs))) psi.ArgumentList.Add(a);
        var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start a fleet worker");
        string name = $"worker {args.First + 1}..{args.First + args.Count} (pid {p.Id})";
        log?.Invoke($"started fleet {name}");
        return new WorkerClient(p, name);
    }

    private async Task ReadLoopAsync()
    {
        try
        {
            while (await _process.StandardOutput.ReadLineAsync() is { } line)
            {
                WorkerProtocol.Reply r;
                try
                {
                    r = WorkerProtocol.ParseReply(line);
                }
                catch (FormatException)
                {
                    continue; // not protocol: ignore
                }
                if (r.Id == 0)
                {
                    if (r.Ok) _ready.TrySetResult(r.Payload);
                    else _ready.TrySetException(new InvalidOperationException($"fleet {_name} failed to start: {r.Payload}"));
                }
                else if (_pending.TryRemove(r.Id, out var tcs))
                {
                    if (r.Ok) tcs.TrySetResult(r.Payload);
                    else tcs.TrySetException(new InvalidOperationException($"fleet {_name}: {r.Payload}"));
                }
            }
        }
        catch (Exception)
        {
            // the process is gone
        }
        var gone = new InvalidOperationException($"fleet {_name} exited");
        _ready.TrySetException(gone);
        foreach (var id in _pending.Keys)
            if (_pending.TryRemove(id, out var tcs)) tcs.TrySetException(gone);
    }

    public async Task<string> RequestAsync(string command, CancellationToken ct, params object[] args)
    {
        long id = Interlocked.Increment(ref _nextId);
        var tcs = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = tcs;
        string line = WorkerProtocol.FormatRequest(id, command, args);
        await _writeGate.WaitAsync(ct);
        try
        {
            await _process.StandardInput.WriteLineAsync(line);
            await _process.StandardInput.FlushAsync(ct);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            _pending.TryRemove(id, out _);
            throw new InvalidOperationException($"fleet {_name} is gone: {e.Message}");
        }
        finally
        {
            _writeGate.Release();
        }
        if (_reader.IsCompleted && _pending.TryRemove(id, out _)) throw new InvalidOperationException($"fleet {_name} exited");
        return await tcs.Task.WaitAsync(ct);
    }

    /// <summary>From /proc/PID/stat: Process.Refresh and TotalProcessorTime read every thread's stat file as well,
    /// which at 500 device threads per worker and 10 samples a second cost the bench 0.4 cores.</summary>
    public double CpuSeconds()
    {
        if (ProcStat.CpuSeconds(_pid) is double s) _lastCpu = s;
        return _lastCpu;
    }

    public long RssBytes() => ProcStat.RssBytes(_pid);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        try
        {
            await _writeGate.WaitAsync(TimeSpan.FromSeconds(2));
            await _process.StandardInput.WriteLineAsync(WorkerProtocol.FormatRequest(Interlocked.Increment(ref _nextId), "quit"));
            _process.StandardInput.Close();
        }
        catch (Exception)
        {
            // already gone
        }
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try
        {
            await _process.WaitForExitAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
        }
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        }
        catch (Exception)
        {
        }
        try { await _reader.WaitAsync(TimeSpan.FromSeconds(5)); } catch (Exception) { }
        Live.TryRemove(this, out _);
        _process.Dispose();
    }
}

/// <summary>Open descriptors of a process (entries of /proc/PID/fd; 0 where that cannot be read).</summary>
public static class OpenFiles
{
    public static int Count(int pid)
    {
        try
        {
            return Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd").Count();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }
}

/// <summary>A process's CPU time and resident set from /proc/PID/stat and /proc/PID/statm alone (Linux).</summary>
public static class ProcStat
{
    private const double ClockTicksPerSecond = 100; // USER_HZ
    private static readonly long PageBytes = Environment.SystemPageSize;

    /// <summary>User + system CPU seconds, or null when the process is gone or this is not Linux.</summary>
    public static double? CpuSeconds(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            return ParseCpuSeconds(stat);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    /// <summary>utime + stime (fields 14 and 15) of a /proc/PID/stat line, in seconds; the command name in
    /// parentheses may hold spaces and parentheses itself.</summary>
    public static double ParseCpuSeconds(string stat)
    {
        int close = stat.LastIndexOf(')');
        if (close < 0) throw new FormatException("not a /proc stat line");
        string[] f = stat[(close + 2)..].Split(' ');
        if (f.Length < 13) throw new FormatException("not a /proc stat line");
        return (long.Parse(f[11], CultureInfo.InvariantCulture) + long.Parse(f[12], CultureInfo.InvariantCulture)) / ClockTicksPerSecond;
    }

    /// <summary>Resident bytes, or 0 when the process is gone.</summary>
    public static long RssBytes(int pid)
    {
        try
        {
            string[] f = File.ReadAllText($"/proc/{pid}/statm").Split(' ');
            return long.Parse(f[1], CultureInfo.InvariantCulture) * PageBytes;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return 0;
        }
    }
}
