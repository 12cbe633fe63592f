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
            return true;
        }
    }

    public void Clear()
    {
        lock (_lock) _sent.Clear();
    }
}
