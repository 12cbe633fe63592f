using IotOta.DeviceFirmware.Ports;

namespace IotOta.DeviceFirmware.Tests.Fakes;

/// <summary>Counts restart requests.</summary>
public sealed class RestartRecorder : IRestartPort
{
    public int Count;

    public void RequestRestart() => Interlocked.Increment(ref Count);
}
