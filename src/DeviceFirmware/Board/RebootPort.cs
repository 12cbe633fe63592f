// nanoFramework-only (not built here).
using IotOta.DeviceFirmware.Ports;

namespace IotOta.DeviceFirmware.Board
{
    internal sealed class RebootPort : IRestartPort
    {
        public void RequestRestart()
        {
            // After CompleteUpdateSession MCUboot swaps the images on this reboot; the new image must call
            // UpdateManager.ConfirmDeploymentImage() (done when the core confirms after its self-test) or it reverts.
            nanoFramework.Runtime.Native.Power.RebootDevice();
        }
    }
}
