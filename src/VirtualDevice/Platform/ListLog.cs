using IotOta.DeviceFirmware.Ports;

namespace IotOta.VirtualDevice.Platform;

/// <summary>Keeps the last <see cref="Capacity"/> log lines in memory (thread-safe) and optionally forwards each line.</summary>
public sealed class ListLog : ILogPort
{
    private readonly Queue<string> _lines;
    private readonly Action<string>? _forward;
    private readonly object _lock = new();
    private long _total;

    public ListLog(int capacity = 1000, Action<string>? forward = null)
    {
        if (capacity <= 0) throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "capacity must be positive");
        Capacity = capacity;
        _lines = new Queue<string>(Math.Min(capacity, 1024));
        _forward = forward;
    }

    public int Capacity { get; }

    /// <summary>Lines logged since creation (including those no longer kept).</summary>
    public long TotalLogged => Interlocked.Read(ref _total);

    public void Log(string message)
    {
        message ??= "";
        lock (_lock)
        {
            if (_lines.Count == Capacity) _lines.Dequeue();
            _lines.Enqueue(message);
            _total++;
        }
        _forward?.Invoke(message);
    }

    /// <summary>The kept lines, oldest first.</summary>
    public IReadOnlyList<string> Messages
    {
        get
        {
            lock (_lock) return _lines.ToArray();
        }
    }

    public bool Contains(string text)
    {
        lock (_lock)
        {
            foreach (string l in _lines)
            {
                if (l.Contains(text, StringComparison.Ordinal)) return true;
            }
            return false;
        }
    }

    public void Clear()
    {
        lock (_lock) _lines.Clear();
    }
}
