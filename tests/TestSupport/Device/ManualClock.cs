using IotOta.DeviceFirmware.Ports;

namespace IotOta.TestSupport.Device;

/// <summary>The device core's clock port, moving only when told to (device tests, the device fault suite).</summary>
public sealed class ManualClock : IClock
{
    private long _now;

    public ManualClock(long startMs = 10_000) => _now = startMs;

    public long NowMs => Interlocked.Read(ref _now);

    public void Advance(long ms) => Interlocked.Add(ref _now, ms);
}
