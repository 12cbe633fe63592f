using IotOta.DeviceFirmware.Ports;

namespace IotOta.DeviceFirmware.Tests.Fakes;

/// <summary>Keeps log lines (helps when a test fails).</summary>
public sealed class RecordingLog : ILogPort
{
    private readonly List<string> _lines = new();

    public IReadOnlyList<string> Lines { get { lock (_lines) return _lines.ToArray(); } }

    public void Log(string message)
    {
        lock (_lines) _lines.Add(message);
    }
}
