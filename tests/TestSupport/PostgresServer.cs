using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace IotOta.TestSupport;

/// <summary>
/// A real PostgreSQL server for tests, from Debian's packages (/usr/lib/postgresql/N/bin): initdb into a fresh temp
/// data dir, `postgres` on a free 127.0.0.1 port (Unix socket in the data dir), trust authentication for the user
/// <see cref="User"/>, fsync off. PostgreSQL refuses to run as root, so when this process is root the server runs as
/// the `postgres` system user (setpriv; the package creates that user). Disposing stops it (fast shutdown, then kill)
/// and deletes the data dir. <see cref="CreateDatabaseAsync"/> gives each test its own empty database.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable, IDisposable
{
    public const string User = "iotota";
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private readonly string _bin;
    private readonly string _dir;
    private readonly string? _runAs;
    private readonly StringBuilder _log = new();
    private Process? _process;
    private int _databases;

    private PostgresServer(string bin, string? runAs)
    {
        _bin = bin;
        _runAs = runAs;
        _dir = Path.Combine(Path.GetTempPath(), "iotota-pg-" + Guid.NewGuid().ToString("N")[..12]);
        Port = FreePort.Get();
    }

    public string Host => "127.0.0.1";
    public int Port { get; }
    public string DataDir => Path.Combine(_dir, "data");

    /// <summary>What the server and initdb printed so far, for failure messages.</summary>
    public string Log
    {
        get { lock (_log) return _log.ToString(); }
    }

    /// <summary>Connection string of a database on this server (trust authentication: no password).</summary>
    public string ConnectionString(string database = "postgres") =>
        $"Host={Host};Port={Port};Username={User};Database={database};Pooling=false;Timeout=15";

    /// <summary>The directory holding initdb, pg_ctl and postgres: $PG_BIN, else the newest /usr/lib/postgresql/N/bin.
    /// Throws with the fix in the message when PostgreSQL is not installed.</summary>
    public static string FindBin()
    {
        var env = Environment.GetEnvironmentVariable("PG_BIN");
        if (!string.IsNullOrEmpty(env) && File.Exists(Path.Combine(env, "initdb"))) return env;
        const string root = "/usr/lib/postgresql";
        if (Directory.Exists(root))
        {
            var best = Directory.GetDirectories(root)
                .Select(d => (Dir: Path.Combine(d, "bin"), Version: int.TryParse(Path.GetFileName(d), out int v) ? v : -1))
                .Where(x => File.Exists(Path.Combine(x.Dir, "initdb")) && File.Exists(Path.Combine(x.Dir, "postgres")))
                .OrderByDescending(x => x.Version).FirstOrDefault();
            if (best.Dir != null) return best.Dir;
        }
        throw new InvalidOperationException("PostgreSQL not installed (no /usr/lib/postgresql/N/bin/initdb): run scripts/test.sh, or apt-get install postgresql");
    }

    /// <summary>initdb, start, wait until it accepts connections.</summary>
    public static async Task<PostgresServer> StartAsync(CancellationToken ct = default)
    {
        string bin = FindBin();
        string? runAs = IsRoot() ? "postgres" : null;
        var server = new PostgresServer(bin, runAs);
        try
        {
            await server.InitAsync(ct).ConfigureAwait(false);
            await server.StartProcessAsync(ct).ConfigureAwait(false);
            return server;
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern uint geteuid();

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);

    private static bool IsRoot() => OperatingSystem.IsLinux() && geteuid() == 0;

    /// <summary>A ProcessStartInfo for a PostgreSQL binary, run as the postgres user when this process is root.</summary>
    private ProcessStartInfo Psi(string program, params string[] args)
    {
        var psi = new ProcessStartInfo
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = _dir,
        };
        if (_runAs != null)
        {
            // setpriv execs the program itself (no forked child): killing the process we started kills the server.
            psi.FileName = "setpriv";
            foreach (var a in new[] { "--reuid=" + _runAs, "--regid=" + _runAs, "--init-groups", "--" }) psi.ArgumentList.Add(a);
            psi.ArgumentList.Add(Path.Combine(_bin, program));
        }
        else psi.FileName = Path.Combine(_bin, program);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["LC_ALL"] = "C";
        psi.Environment["LANG"] = "C";
        return psi;
    }

    private async Task RunAsync(ProcessStartInfo psi, string what, CancellationToken ct)
    {
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start " + what);
        var output = p.StandardOutput.ReadToEndAsync(ct);
        var error = p.StandardError.ReadToEndAsync(ct);
        await p.WaitForExitAsync(ct).ConfigureAwait(false);
        Append(await output.ConfigureAwait(false));
        Append(await error.ConfigureAwait(false));
        if (p.ExitCode != 0) throw new InvalidOperationException($"{what} exited with code {p.ExitCode}:\n{Log}");
    }

    private async Task InitAsync(CancellationToken ct)
    {
        Directory.CreateDirectory(_dir);
        if (_runAs != null)
        {
            // The server's user must own its directories; nobody else may read the data dir.
            if (!UserExists(_runAs))
                throw new InvalidOperationException($"running as root, PostgreSQL needs the system user '{_runAs}' (the postgresql package creates it)");
            await RunAsync(new ProcessStartInfo("chown", [_runAs + ":", _dir]) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true },
                "chown", ct).ConfigureAwait(false);
        }
        await RunAsync(Psi("initdb", "-D", DataDir, "-U", User, "-A", "trust", "-E", "UTF8", "--no-sync", "--no-instructions"), "initdb", ct)
            .ConfigureAwait(false);
    }

    private static bool UserExists(string name) =>
        File.Exists("/etc/passwd") && File.ReadLines("/etc/passwd").Any(l => l.StartsWith(name + ":", StringComparison.Ordinal));

    private async Task StartProcessAsync(CancellationToken ct)
    {
        var psi = Psi("postgres", "-D", DataDir, "-p", Port.ToString(), "-k", _dir, "-c", "listen_addresses=" + Host,
            "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=50",
            "-c", "shared_buffers=16MB", "-c", "logging_collector=off");
        var p = new Process { StartInfo = psi, EnableRaisingEvents = true };
        p.OutputDataReceived += (_, e) => Append(e.Data);
        p.ErrorDataReceived += (_, e) => Append(e.Data);
        if (!p.Start()) throw new InvalidOperationException("could not start postgres");
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        _process = p;
        var deadline = DateTime.UtcNow + StartTimeout;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            if (p.HasExited)
            {
                p.WaitForExit();
                throw new InvalidOperationException($"postgres exited with code {p.ExitCode} before accepting connections on {Host}:{Port}\n{Log}");
            }
            if (FreePort.Accepts(Host, Port) && Log.Contains("ready to accept connections", StringComparison.Ordinal)) return;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"postgres did not accept connections on {Host}:{Port} within {StartTimeout.TotalSeconds} s\n{Log}");
            await Task.Delay(50, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Creates an empty database for one test (createdb over the server's socket); returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(CancellationToken ct = default)
    {
        string name = "t" + Interlocked.Increment(ref _databases) + "_" + Guid.NewGuid().ToString("N")[..8];
        await RunAsync(Psi("createdb", "-h", Host, "-p", Port.ToString(), "-U", User, name), "createdb " + name, ct).ConfigureAwait(false);
        return ConnectionString(name);
    }

    private void Append(string? text)
    {
        if (string.IsNullOrEmpty(text)) return;
        lock (_log) _log.Append(text.TrimEnd('\n')).Append('\n');
    }

    private void Stop()
    {
        var p = _process;
        _process = null;
        if (p == null) return;
        try
        {
            if (!p.HasExited)
            {
                kill(p.Id, 2); // SIGINT: fast shutdown (disconnects clients, no checkpoint wait for a throw-away cluster)
                if (!p.WaitForExit(10_000)) p.Kill(entireProcessTree: true);
                p.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
        finally
        {
            p.Dispose();
        }
    }

    public void Dispose()
    {
        Stop();
        try
        {
            if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    public override string ToString() => $"postgres {Host}:{Port} ({DataDir})";
}
