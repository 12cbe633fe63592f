using IotOta.DeviceFirmware.Ports;

namespace IotOta.DeviceFirmware.Tests.Fakes;

/// <summary>A clock that only moves when told to.</summary>
public sealed class ManualClock : IClock
{
    private long _now;

    public ManualClock(long startMs = 10_000) => _now = startMs;

    public long NowMs => Interlocked.Read(ref _now);

    public void Advance(long ms) => Interlocked.Add(ref _now, ms);
}
