namespace IotOta.DeviceFirmware.Ports
{
    /// <summary>Reboots the device: the core is started again from what flash holds.</summary>
    public interface IRestartPort
    {
        void RequestRestart();
    }
}
