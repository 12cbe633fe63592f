using IotOta.DeviceFirmware.Ports;

namespace IotOta.Board.Platform
{
    /// <summary>Diagnostics to the board's console (the serial/debug output; mscorlib's System.Console).</summary>
    public sealed class ConsoleLog : ILogPort
    {
        public void Log(string message)
        {
            System.Console.WriteLine(message);
        }
    }
}
