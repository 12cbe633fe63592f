namespace IotOta.DeviceFirmware.Ports
{
    /// <summary>Monotonic milliseconds. The only source of time for the device core.</summary>
    public interface IClock
    {
        long NowMs { get; }
    }
}
