namespace IotOta.DeviceFirmware.Ports
{
    /// <summary>A flash operation broke the flash's rules (unaligned erase, write without erase, out of range) or failed.</summary>
    public class FlashException : System.Exception
    {
        public FlashException(string message) : base(message)
        {
        }
    }
}
