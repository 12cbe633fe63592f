using IotOta.DeviceFirmware.Ports;
using IotOta.VirtualDevice.Host.Metering;

namespace IotOta.DeviceHeap;

/// <summary>Ports that keep nothing and allocate nothing: the MQTT client and sockets are outside the core.</summary>
internal sealed class NullMqtt : IMqttPort
{
    public bool IsConnected => true;
    public bool Publish(string topic, byte[] buffer, int offset, int count, bool retain) => true;
    public void Subscribe(string topic) { }
}

internal sealed class NullPeer : IPeerPort
{
    public long Sends;
    public bool Send(uint ip, int port, byte[] buffer, int offset, int count)
    {
        Sends++;
        return true;
    }
}

internal sealed class RestartCounter : IRestartPort
{
    public int Count;
    public void RequestRestart() => Count++;
}

internal sealed class BenchClock : IClock
{
    public long NowMs { get; set; } = 1_000;
}

/// <summary>One measured call: what the core allocated on this thread, minus what the adapters allocated meanwhile
/// (<see cref="AdapterAllocations"/>, counted by the Metered* wrappers of the virtual device).</summary>
internal static class Measure
{
    public static long Call(Action call)
    {
        AdapterAllocations.Take();
        long start = GC.GetAllocatedBytesForCurrentThread();
        call();
        long bytes = GC.GetAllocatedBytesForCurrentThread() - start - AdapterAllocations.Take();
        return bytes < 0 ? 0 : bytes;
    }
}
