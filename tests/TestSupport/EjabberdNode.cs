using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace IotOta.TestSupport;

/// <summary>
/// A private ejabberd node (Debian's package, 23.01) speaking MQTT (mod_mqtt) on a free 127.0.0.1 port: its own config,
/// Mnesia spool and log in a temp dir, its own Erlang node name (iotota-ej-…@localhost) and cookie, started straight
/// from <c>erl</c> (as ejabberdctl does, without su to the system user, so the test owns the process). Users are
/// registered through Erlang RPC (ejabberd_admin:register); <see cref="JoinClusterAsync"/> joins another node's cluster
/// (ejabberd_admin:join_cluster); <see cref="Kill"/> stops it as a host failure would. Disposing kills it and deletes
/// the dir. The system's epmd daemon (started by the first node) is shared and left running.
/// </summary>
public sealed class EjabberdNode : IAsyncDisposable
{
    public const string VirtualHost = "localhost";
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly StringBuilder _out = new();
    private Process? _process;

    private EjabberdNode(string dir, string nodeName, string cookie, int port)
    {
        Dir = dir;
        NodeName = nodeName;
        Cookie = cookie;
        Port = port;
    }

    public string Host => "127.0.0.1";
    public int Port { get; }
    public string Dir { get; }
    /// <summary>Erlang node name, e.g. iotota-ej-1a2b3c4d@localhost.</summary>
    public string NodeName { get; }
    public string Cookie { get; }
    public bool IsRunning => _process is { HasExited: false };
    public string LogPath => Path.Combine(Dir, "ejabberd.log");

    /// <summary>What the node printed and its log's tail, for failure messages.</summary>
    public string Output
    {
        get
        {
            string log = File.Exists(LogPath) ? string.Join("\n", File.ReadLines(LogPath).TakeLast(40)) : "";
            lock (_out) return _out + "\n--- " + LogPath + "\n" + log;
        }
    }

    /// <summary>The folder holding ejabberd's Erlang applications (ERL_LIBS), e.g. /usr/lib/x86_64-linux-gnu; throws
    /// with the fix in the message when ejabberd or Erlang is not installed.</summary>
    public static string FindLibs()
    {
        if (!File.Exists("/usr/bin/erl")) throw new InvalidOperationException("Erlang not installed (/usr/bin/erl): run scripts/test.sh, or apt-get install ejabberd");
        foreach (string lib in Directory.GetDirectories("/usr/lib"))
        {
            try
            {
                if (Directory.GetDirectories(lib, "ejabberd-*").Any(d => File.Exists(Path.Combine(d, "ebin", "ejabberd.app")))) return lib;
            }
            catch (UnauthorizedAccessException) { }
        }
        throw new InvalidOperationException("ejabberd not installed (no /usr/lib/*/ejabberd-*/ebin): run scripts/test.sh, or apt-get install ejabberd");
    }

    /// <param name="cookie">Erlang cookie; nodes of one cluster need the same</param>
    /// <param name="maxPayloadSize">mod_mqtt's max_payload_size for the listener (null = its default)</param>
    public static async Task<EjabberdNode> StartAsync(string? cookie = null, int? maxPayloadSize = null, CancellationToken ct = default)
    {
        string libs = FindLibs();
        string id = Guid.NewGuid().ToString("N")[..8];
        string dir = Path.Combine(Path.GetTempPath(), "iotota-ej-" + id);
        Directory.CreateDirectory(Path.Combine(dir, "spool"));
        var node = new EjabberdNode(dir, $"iotota-ej-{id}@localhost", cookie ?? "iotota-" + id, FreePort.Get());
        try
        {
            await node.StartProcessAsync(libs, maxPayloadSize, ct).ConfigureAwait(false);
            return node;
        }
        catch
        {
            await node.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task StartProcessAsync(string libs, int? maxPayloadSize, CancellationToken ct)
    {
        string config = Path.Combine(Dir, "ejabberd.yml");
        File.WriteAllText(config, $"""
            hosts:
              - "{VirtualHost}"
            loglevel: warning
            auth_method: [internal]
            listen:
              -
                port: {Port}
                ip: "127.0.0.1"
                module: mod_mqtt
                backlog: 1000{(maxPayloadSize is int m ? $"\n    max_payload_size: {m}" : "")}
            acl:
              local:
                user_regexp: ""
            access_rules:
              local:
                allow: all
            modules:
              mod_mqtt:
                max_queue: 100000
            """);
        var psi = new ProcessStartInfo("/usr/bin/erl")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = Dir,
        };
        foreach (string a in new[] { "-sname", NodeName, "-setcookie", Cookie, "-noinput", "-mnesia", "dir", $"\"{Path.Combine(Dir, "spool")}\"", "-s", "ejabberd" })
            psi.ArgumentList.Add(a);
        psi.Environment["EJABBERD_CONFIG_PATH"] = config;
        psi.Environment["EJABBERD_LOG_PATH"] = LogPath;
        psi.Environment["ERL_LIBS"] = libs;
        psi.Environment["ERL_CRASH_DUMP"] = Path.Combine(Dir, "erl_crash.dump");
        psi.Environment["HOME"] = Dir; // the cookie is given; keep erl from writing ~/.erlang.cookie elsewhere
        _process = Process.Start(psi) ?? throw new InvalidOperationException("erl did not start");
        _process.OutputDataReceived += (_, e) => { if (e.Data != null) lock (_out) _out.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (_out) _out.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow + StartTimeout;
        while (!FreePort.Accepts(Host, Port))
        {
            if (_process.HasExited) throw new InvalidOperationException($"ejabberd exited with {_process.ExitCode}:\n{Output}");
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"ejabberd did not listen on {Port} within {StartTimeout.TotalSeconds:0} s:\n{Output}");
            await Task.Delay(100, ct).ConfigureAwait(false);
        }
        // The listener opens before every module and table is up: wait until ejabberd says it is started (what
        // `ejabberdctl started` waits for), so that registration and join_cluster find a complete node.
        while (true)
        {
            string status;
            try
            {
                status = await EvalAsync("ejabberd_admin:status()", ct).ConfigureAwait(false);
            }
            catch (InvalidOperationException e) when (!_process.HasExited && DateTime.UtcNow < deadline)
            {
                status = e.Message; // its Erlang distribution is not up yet
            }
            if (status.StartsWith("{ok,", StringComparison.Ordinal)) return;
            if (_process.HasExited) throw new InvalidOperationException($"ejabberd exited with {_process.ExitCode}:\n{Output}");
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"ejabberd did not report started within {StartTimeout.TotalSeconds:0} s ({status}):\n{Output}");
            await Task.Delay(200, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Evaluates an Erlang expression on this node (rpc from a hidden helper node) and returns what it printed
    /// (io_lib ~p of the result).</summary>
    public async Task<string> EvalAsync(string expression, CancellationToken ct = default)
    {
        string helper = $"iotota-ctl-{Guid.NewGuid().ToString("N")[..8]}@localhost";
        string node = NodeName;
        var psi = new ProcessStartInfo("/usr/bin/erl")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Dir,
        };
        string eval = $"R = rpc:call('{node}', erlang, apply, [fun() -> {expression} end, []], 90000), io:format(\"~p~n\", [R]).";
        foreach (string a in new[] { "-sname", helper, "-setcookie", Cookie, "-noinput", "-hidden", "-eval", eval, "-s", "erlang", "halt" })
            psi.ArgumentList.Add(a);
        psi.Environment["HOME"] = Dir;
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("erl did not start");
        Task<string> stdout = p.StandardOutput.ReadToEndAsync(ct);
        Task<string> stderr = p.StandardError.ReadToEndAsync(ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(120));
        try
        {
            await p.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            try { p.Kill(true); } catch (InvalidOperationException) { }
            throw new TimeoutException($"erl eval on {node} did not finish: {expression}");
        }
        string text = (await stdout.ConfigureAwait(false)).Trim();
        if (p.ExitCode != 0 || text.Contains("badrpc")) throw new InvalidOperationException($"erl eval on {node} failed ({p.ExitCode}): {text} {await stderr.ConfigureAwait(false)}");
        return text;
    }

    /// <summary>Registers MQTT users (ejabberd accounts user@localhost) with their passwords.</summary>
    public async Task RegisterAsync(IEnumerable<(string User, string Password)> users, CancellationToken ct = default)
    {
        string list = string.Join(",", users.Select(u => $"{{<<\"{Escape(u.User)}\">>, <<\"{Escape(u.Password)}\">>}}"));
        string expression = $"[ejabberd_admin:register(U, <<\"{VirtualHost}\">>, P) || {{U, P}} <- [{list}]]";
        // The MQTT listener may accept before the account table exists: retry while Mnesia says no_exists.
        var deadline = DateTime.UtcNow + StartTimeout;
        while (true)
        {
            try
            {
                string result = await EvalAsync(expression, ct).ConfigureAwait(false);
                if (result.Contains("error") || result.Contains("conflict")) throw new InvalidOperationException($"ejabberd refused a registration: {result}");
                return;
            }
            catch (InvalidOperationException e) when (e.Message.Contains("no_exists") && DateTime.UtcNow < deadline)
            {
                await Task.Delay(250, ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Joins the cluster of <paramref name="other"/> (this node's own Mnesia data is replaced by the cluster's);
    /// both must share the cookie.</summary>
    public async Task JoinClusterAsync(EjabberdNode other, CancellationToken ct = default)
    {
        if (other.Cookie != Cookie) throw new ArgumentException("nodes of one cluster need the same Erlang cookie");
        string result = await EvalAsync($"ejabberd_admin:join_cluster(<<\"{other.NodeName}\">>)", ct).ConfigureAwait(false);
        if (result != "ok") throw new InvalidOperationException($"join_cluster({other.NodeName}) answered {result}:\n{Output}");
    }

    /// <summary>The cluster's member nodes as this node sees them.</summary>
    public Task<string> ListClusterAsync(CancellationToken ct = default) => EvalAsync("ejabberd_admin:list_cluster()", ct);

    /// <summary>kill -9 of the node (every connection drops without a DISCONNECT, as when its host fails).</summary>
    public void Kill()
    {
        if (_process is { HasExited: false } p)
        {
            try { p.Kill(true); } catch (InvalidOperationException) { }
            p.WaitForExit(10_000);
        }
    }

    private static string Escape(string s) => s.Replace("\\", "\\\\").Replace("\"", "\\\"");

    public ValueTask DisposeAsync()
    {
        Kill();
        _process?.Dispose();
        try { Directory.Delete(Dir, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        return ValueTask.CompletedTask;
    }

    public override string ToString() => $"ejabberd {NodeName} on {Host}:{Port}";
}
