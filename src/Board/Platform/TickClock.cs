using IotOta.DeviceFirmware.Ports;

namespace IotOta.Board.Platform
{
    /// <summary>The core's clock: milliseconds since the board started (System.Environment.TickCount64 of
    /// nanoFramework.Runtime.Native 1.7.11, nanoFramework.Runtime.Native/System/Environment.cs). Monotonic: SNTP and
    /// RTC changes move DateTime.UtcNow, not this.</summary>
    public sealed class TickClock : IClock
    {
        public long NowMs { get { return System.Environment.TickCount64; } }
    }
}
