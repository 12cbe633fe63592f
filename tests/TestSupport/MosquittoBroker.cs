using System.Diagnostics;
using System.Text;

namespace IotOta.TestSupport;

/// <summary>
/// A real mosquitto broker for tests: its own process on a free 127.0.0.1 port, with a generated config in a temp dir,
/// anonymous access (or, with <see cref="MosquittoSecurity"/>, a password file, an acl_file and/or TLS), no persistence. <see cref="Stop"/> and <see cref="Start"/> restart it on the same port
/// (for broker-restart tests); disposing kills it and deletes the temp dir.
/// </summary>
public sealed class MosquittoBroker : IAsyncDisposable, IDisposable
{
    public const string DefaultBinary = "/usr/sbin/mosquitto";
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(10);

    private readonly TempDir _dir;
    private readonly string _binary;
    private readonly StringBuilder _log = new();
    private Process? _process;

    private MosquittoBroker(string binary, string? extraConfig, MosquittoSecurity? security = null)
    {
        _binary = binary;
        _dir = new TempDir("iotota-mosquitto-");
        Port = FreePort.Get();
        ConfigPath = _dir.File("mosquitto.conf");
        Security = security;
        var conf = new StringBuilder();
        conf.Append("listener ").Append(Port).Append(" 127.0.0.1\n");
        if (security?.UsesTls == true)
        {
            conf.Append("cafile ").Append(WriteFile("ca.pem", security.CaPem ?? security.CertPem!)).Append('\n');
            conf.Append("certfile ").Append(WriteFile("server.pem", security.CertPem!)).Append('\n');
            conf.Append("keyfile ").Append(WriteFile("server.key", security.KeyPem ?? throw new ArgumentException("TLS needs KeyPem"))).Append('\n');
        }
        if (security?.Authenticates == true)
        {
            conf.Append("allow_anonymous false\n");
            conf.Append("use_username_as_clientid true\n");
            conf.Append("password_file ").Append(WriteFile("passwords", security.PasswordFile!)).Append('\n');
        }
        else
        {
            conf.Append("allow_anonymous true\n");
        }
        if (security?.AclFile != null) conf.Append("acl_file ").Append(WriteFile("acl", security.AclFile)).Append('\n');
        conf.Append("persistence false\n");
        conf.Append("log_dest stdout\n");
        if (!string.IsNullOrWhiteSpace(extraConfig)) conf.Append(extraConfig.TrimEnd()).Append('\n');
        File.WriteAllText(ConfigPath, conf.ToString());
    }

    public string Host => "127.0.0.1";
    public int Port { get; }
    /// <summary>What this broker enforces (null: anonymous, plain TCP).</summary>
    public MosquittoSecurity? Security { get; }

    private string WriteFile(string name, string content)
    {
        string path = _dir.File(name);
        File.WriteAllText(path, content);
        // Readable by all: mosquitto started as root reads these after dropping to its own user. They hold only
        // hashes, an ACL and a throw-away test key, in a temp dir deleted with the broker.
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        return path;
    }
    public string ConfigPath { get; }
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>What the broker printed so far (stdout and stderr), for failure messages.</summary>
    public string Log
    {
        get { lock (_log) return _log.ToString(); }
    }

    /// <summary>Starts a broker and waits until its port accepts connections.</summary>
    /// <param name="extraConfig">Lines appended to the generated mosquitto.conf.</param>
    /// <param name="binary">The mosquitto binary; default: $MOSQUITTO, else /usr/sbin/mosquitto, else mosquitto on PATH.</param>
    public static Task<MosquittoBroker> StartAsync(string? extraConfig = null, string? binary = null, CancellationToken ct = default) =>
        StartAsync(null, extraConfig, binary, ct);

    /// <summary>Starts a broker that enforces <paramref name="security"/> (passwords, ACL, TLS).</summary>
    public static async Task<MosquittoBroker> StartAsync(MosquittoSecurity? security, string? extraConfig = null, string? binary = null, CancellationToken ct = default)
    {
        var broker = new MosquittoBroker(binary ?? FindBinary(), extraConfig, security);
        try
        {
            await broker.StartProcessAsync(ct).ConfigureAwait(false);
            return broker;
        }
        catch
        {
            await broker.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Finds the mosquitto binary or throws with the fix in the message.</summary>
    public static string FindBinary()
    {
        var env = Environment.GetEnvironmentVariable("MOSQUITTO");
        if (!string.IsNullOrEmpty(env) && File.Exists(env)) return env;
        if (File.Exists(DefaultBinary)) return DefaultBinary;
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
        {
            if (dir.Length == 0) continue;
            var p = Path.Combine(dir, "mosquitto");
            if (File.Exists(p)) return p;
        }
        throw new InvalidOperationException("mosquitto not installed: run scripts/test.sh");
    }

    /// <summary>True when a mosquitto binary can be found.</summary>
    public static bool IsInstalled()
    {
        try
        {
            FindBinary();
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>(Re)starts the broker on the same port; waits until the port accepts connections (10 s).</summary>
    public async Task StartProcessAsync(CancellationToken ct = default)
    {
        if (IsRunning) return;
        if (!File.Exists(_binary)) throw new InvalidOperationException("mosquitto not installed: run scripts/test.sh");
        var psi = new ProcessStartInfo(_binary)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            WorkingDirectory = _dir.Path,
        };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(ConfigPath);
        var p = new Process { StartInfo = psi, EnableRaisingEvents = true };
        p.OutputDataReceived += (_, e) => Append(e.Data);
        p.ErrorDataReceived += (_, e) => Append(e.Data);
        if (!p.Start()) throw new InvalidOperationException("could not start " + _binary);
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
                throw new InvalidOperationException(
                    $"mosquitto exited with code {p.ExitCode} before accepting connections on {Host}:{Port}.\nconfig {ConfigPath}\n{Log}");
            }
            if (FreePort.Accepts(Host, Port)) return;
            if (DateTime.UtcNow > deadline)
            {
                Kill();
                throw new TimeoutException($"mosquitto did not accept connections on {Host}:{Port} within {StartTimeout.TotalSeconds} s.\n{Log}");
            }
            await Task.Delay(50, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Rewrites the password and ACL files (only those the broker was started with) and sends SIGHUP, on
    /// which Mosquitto reloads them: accounts issued or revoked after the start take effect for new connections.</summary>
    public void ReloadSecurity(MosquittoSecurity security)
    {
        ArgumentNullException.ThrowIfNull(security);
        if (Security?.PasswordFile == null || Security.AclFile == null) throw new InvalidOperationException("this broker was started without password and ACL files");
        if (security.PasswordFile == null || security.AclFile == null) throw new ArgumentException("both the password file and the ACL file are needed", nameof(security));
        WriteFile("passwords", security.PasswordFile);
        WriteFile("acl", security.AclFile);
        var p = _process ?? throw new InvalidOperationException("the broker is not running");
        if (SendSignal(p.Id, SigHup) != 0) throw new InvalidOperationException($"could not signal mosquitto (pid {p.Id})");
    }

    private const int SigHup = 1;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int pid, int signal);

    /// <summary>Synchronous form of <see cref="StartProcessAsync"/>: (re)starts a stopped broker on the same port.</summary>
    public void Start() => StartProcessAsync().GetAwaiter().GetResult();

    /// <summary>Kills the broker (like a crash or power loss: clients see the connection drop). The port stays reserved
    /// for <see cref="Start"/> only by convention: nothing else in the test should bind it.</summary>
    public void Stop() => Kill();

    private void Kill()
    {
        var p = _process;
        _process = null;
        if (p == null) return;
        try
        {
            if (!p.HasExited)
            {
                p.Kill(entireProcessTree: true);
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

    private void Append(string? line)
    {
        if (line == null) return;
        lock (_log) _log.Append(line).Append('\n');
    }

    public void Dispose()
    {
        Kill();
        _dir.Dispose();
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    public override string ToString() => $"mosquitto {Host}:{Port}";
}
