using System.Diagnostics;
using IotOta.DeviceFirmware.Ports;

namespace IotOta.VirtualDevice.Platform;

/// <summary>Monotonic milliseconds since this clock was created (Stopwatch-based; never goes back).</summary>
public sealed class SystemClock : IClock
{
    /// <summary>One clock shared by everything in the process.</summary>
    public static readonly SystemClock Instance = new();

    private readonly long _start = Stopwatch.GetTimestamp();

    public long NowMs => (long)Stopwatch.GetElapsedTime(_start).TotalMilliseconds;
}
