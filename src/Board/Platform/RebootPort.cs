using IotOta.DeviceFirmware.Ports;
using nanoFramework.Runtime.Native;

namespace IotOta.Board.Platform
{
    /// <summary>Restarts the board (nanoFramework.Runtime.Native 1.7.11 Power.RebootDevice). Nothing needs confirming
    /// with the platform: the boot record and its confirmation marker are the core's own files, and the resident
    /// program acts as the bootloader (DeviceAgent.Start) each time it starts.</summary>
    public sealed class RebootPort : IRestartPort
    {
        public void RequestRestart()
        {
            Power.RebootDevice();
        }
    }
}
