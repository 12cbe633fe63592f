using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;

namespace IotOta.FaultSuite.Fleet;

/// <summary>
/// The gateway as a separate OS process: `dotnet IotOta.Simulation.dll serve …` (the server host, with the emulated
/// gateway uplink of --gateway-up-kbps) from this program's own output folder (the Simulation project is referenced, so
/// its assembly, deps and runtimeconfig sit next to this one). Its output is
/// kept for failure messages; <see cref="Kill"/> is a SIGKILL (Process.Kill: no shutdown code runs in the gateway).
/// </summary>
public sealed class GatewayProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();

    private GatewayProcess(Process p) => _process = p;

    public int Id => _process.Id;
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;

    public string Log
    {
        get { lock (_log) return _log.ToString(); }
    }

    /// <summary>Starts the gateway with these arguments and environment variables (credentials go there, not on the
    /// command line). <paramref name="program"/>: IotOta.Simulation.dll (serve with the emulated parts, demo, fleet) or
    /// IotOta.Gateway.dll (serve for real devices, rollout, keygen).</summary>
    public static GatewayProcess Start(IEnumerable<string> args, IReadOnlyDictionary<string, string> env, string program = "IotOta.Simulation.dll")
    {
        string dll = Path.Combine(AppContext.BaseDirectory, program);
        if (!File.Exists(dll)) throw new FileNotFoundException($"the gateway is not next to the fault suite: {dll}", dll);
        var psi = new ProcessStartInfo(DotnetHost())
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env) psi.Environment[k] = v;
        var p = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var g = new GatewayProcess(p);
        p.OutputDataReceived += (_, e) => g.Append(e.Data);
        p.ErrorDataReceived += (_, e) => g.Append(e.Data);
        if (!p.Start()) throw new InvalidOperationException("could not start the gateway process");
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return g;
    }

    /// <summary>The dotnet host that runs this program (DOTNET_HOST_PATH under dotnet run/test, else this process
    /// when it is dotnet, else dotnet on PATH).</summary>
    private static string DotnetHost()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h && File.Exists(h)) return h;
        if (Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet") return self;
        return "dotnet";
    }

    private void Append(string? line)
    {
        if (line == null) return;
        lock (_log) _log.Append(line).Append('\n');
    }

    /// <summary>Polls GET {url}/api/groups with the credentials until it answers 200 (the API is up and the gateway
    /// connected), the process exits, or the timeout passes.</summary>
    public async Task WaitReadyAsync(HttpClient http, TimeSpan timeout, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited) throw new InvalidOperationException($"the gateway process exited with code {_process.ExitCode} before it was ready:\n{Log}");
            try
            {
                using var res = await http.GetAsync("/api/groups", ct);
                if (res.IsSuccessStatusCode) return;
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }
            if (sw.Elapsed > timeout) throw new TimeoutException($"the gateway process was not ready within {timeout.TotalSeconds:0} s:\n{Log}");
            await Task.Delay(100, ct);
        }
    }

    /// <summary>SIGKILL, then waits until the process is gone.</summary>
    public void Kill()
    {
        _process.Kill();
        _process.WaitForExit();
    }

    public static HttpClient Client(string url, string user, string password) => new()
    {
        BaseAddress = new Uri(url),
        Timeout = TimeSpan.FromSeconds(30),
        DefaultRequestHeaders = { Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(user + ":" + password))) },
    };

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
    }
}
