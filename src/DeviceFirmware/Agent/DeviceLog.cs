using IotOta.DeviceFirmware.Ports;

namespace IotOta.DeviceFirmware.Agent
{
    /// <summary>The device's log: every line prefixed with its node id. A null port logs nothing.</summary>
    public sealed class DeviceLog
    {
        private readonly ILogPort _port;
        private readonly string _prefix;

        public DeviceLog(ILogPort port, uint nodeId)
        {
            _port = port;
            _prefix = "[" + nodeId + "] ";
        }

        public void Log(string message)
        {
            if (_port != null) _port.Log(_prefix + message);
        }
    }
}
