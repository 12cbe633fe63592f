using System.Diagnostics;
using System.Text;

namespace IotOta.Board.Tests.Fleet;

/// <summary>
/// One board of the fleet test: the board program (src/Board, built as src/Board.Emulation) in its own process, with
/// a folder playing its I:\ drive. A reboot (Power.RebootDevice, exit code 75) starts it again at once, as a board
/// restarts; <see cref="PowerCut"/> kills it (no clean disconnect, files as they were) and <see cref="PowerOn"/> starts
/// it again. Every line it prints is kept, with the boot it came from.
/// </summary>
public sealed class EmulatedBoard : IAsyncDisposable
{
    private const int RebootExitCode = 75;
    private readonly string _exe;
    private readonly List<string> _lines = new();
    private readonly object _gate = new();
    private Process? _process;
    private bool _poweredOff;
    private bool _disposed;

    public EmulatedBoard(uint nodeId, int groupId, string root, int peerPort)
    {
        NodeId = nodeId;
        GroupId = groupId;
        Root = root.EndsWith('/') ? root : root + "/";
        PeerPort = peerPort;
        _exe = Path.Combine(AppContext.BaseDirectory, "IotOta.Board.Emulation.dll");
        Directory.CreateDirectory(Root);
    }

    public uint NodeId { get; }
    public int GroupId { get; }
    public string Root { get; }
    public int PeerPort { get; }
    /// <summary>Boots so far (the first included): reboots and power-ons.</summary>
    public int Boots { get; private set; }
    public int Reboots { get; private set; }

    public void WriteConfig(string text) => File.WriteAllText(Path.Combine(Root, "iotota.cfg"), text);

    public IReadOnlyList<string> Lines
    {
        get { lock (_gate) return _lines.ToList(); }
    }

    public void PowerOn()
    {
        lock (_gate)
        {
            _poweredOff = false;
            Boot();
        }
    }

    /// <summary>Cuts the power: the process is killed where it is.</summary>
    public void PowerCut()
    {
        Process? p;
        lock (_gate)
        {
            _poweredOff = true;
            p = _process;
            _lines.Add($"[harness] power cut at boot {Boots}");
        }
        if (p is { HasExited: false })
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit(5000);
        }
    }

    private void Boot()
    {
        Boots++;
        _lines.Add($"[harness] boot {Boots}");
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
        };
        psi.ArgumentList.Add(_exe);
        psi.ArgumentList.Add(Root);
        var p = new Process { StartInfo = psi, EnableRaisingEvents = true };
        p.OutputDataReceived += (_, e) => { if (e.Data != null) lock (_gate) _lines.Add(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (_gate) _lines.Add("[stderr] " + e.Data); };
        p.Exited += (_, _) => OnExit(p);
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        _process = p;
    }

    private void OnExit(Process p)
    {
        p.WaitForExit(); // drains the output
        lock (_gate)
        {
            if (_process != p || _disposed) return;
            _lines.Add($"[harness] exit code {p.ExitCode}");
            if (p.ExitCode == RebootExitCode && !_poweredOff)
            {
                Reboots++;
                Boot();
            }
        }
    }

    /// <summary>Lines of the current boot only.</summary>
    public IReadOnlyList<string> CurrentBootLines()
    {
        lock (_gate)
        {
            int at = _lines.FindLastIndex(l => l.StartsWith("[harness] boot ", StringComparison.Ordinal));
            return _lines.Skip(at < 0 ? 0 : at).ToList();
        }
    }

    public async ValueTask DisposeAsync()
    {
        Process? p;
        lock (_gate)
        {
            _disposed = true;
            p = _process;
        }
        if (p is { HasExited: false })
        {
            p.Kill(entireProcessTree: true);
            await p.WaitForExitAsync();
        }
        p?.Dispose();
    }
}
