using IotOta.DeviceFirmware.Ports;

namespace IotOta.DeviceFirmware.Tests.Fakes;

/// <summary>Records every send by "ip:port" with a copy of the bytes; sends to ports in <see cref="FailPorts"/>
/// fail. With <see cref="CountOnly"/> it only counts (no allocation), for the allocation test.</summary>
public sealed class FakePeerPort : IPeerPort
{
    public sealed record Sent(uint Ip, int Port, byte[] Bytes)
    {
        public string Address => Key(Ip, Port);
    }

    private readonly object _lock = new();
    private readonly List<Sent> _sent = new();

    public HashSet<int> FailPorts { get; } = new();
    public bool CountOnly { get; set; }
    public int SendCount;
    public int FailCount;

    public IReadOnlyList<Sent> Sends { get { lock (_lock) return _sent.ToArray(); } }

    public static string Key(uint ip, int port) => ip + ":" + port;

    public bool Send(uint ip, int port, byte[] buffer, int offset, int count)
    {
        if (CountOnly)
        {
            SendCount++;
            return true;
        }
        lock (_lock)
        {
            if (FailPorts.Contains(port))
            {
                FailCount++;
                return false;
            }
            SendCount++;
            var copy = new byte[count];
            Array.Copy(buffer, offset, copy, 0, count);
            _sent.Add(new Sent(ip, port, copy));
        }
        AfterSend?.Invoke();
        return true;
    }

    /// <summary>Called after each delivered send (a test moves its clock: the time a copy takes on the link).</summary>
    public Action? AfterSend { get; set; }

    /// <summary>Called before each piece of a streamed send is read (index of the piece): lets a test change the
    /// device between pieces.</summary>
    public Action<int>? BeforePiece { get; set; }
    /// <summary>Streamed sends the message abandoned midway.</summary>
    public int AbandonedCount;

    /// <summary>Assembles the message from its pieces (as a socket would send them) and records it like Send.</summary>
    public bool SendPieces(uint ip, int port, IPeerMessage message, int count, byte[] piece)
    {
        if (CountOnly)
        {
            for (int at = 0; at < count; at += piece.Length)
            {
                if (!message.ReadPiece(at, piece, 0, Math.Min(piece.Length, count - at))) return false;
            }
            SendCount++;
            return true;
        }
        var whole = new byte[count];
        int k = 0;
        for (int at = 0; at < count; at += piece.Length, k++)
        {
            BeforePiece?.Invoke(k);
            int n = Math.Min(piece.Length, count - at);
            if (!message.ReadPiece(at, piece, 0, n))
            {
                lock (_lock) AbandonedCount++;
                return false;
            }
            Array.Copy(piece, 0, whole, at, n);
        }
        return Send(ip, port, whole, 0, count);
    }

    public void Clear()
    {
        lock (_lock) _sent.Clear();
    }
}
