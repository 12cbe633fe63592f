namespace IotOta.DeviceFirmware.Ports
{
    /// <summary>Where the device core writes its diagnostics (serial console on a board, a logger on .NET).</summary>
    public interface ILogPort
    {
        void Log(string message);
    }
}
