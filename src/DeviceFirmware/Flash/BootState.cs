namespace IotOta.DeviceFirmware.Flash
{
    /// <summary>What the boot record says about the active slot's image.</summary>
    public enum BootState : byte
    {
        /// <summary>Runs and has passed its self-test.</summary>
        Confirmed = 0,
        /// <summary>Just installed; has not booted yet.</summary>
        Pending = 1,
        /// <summary>Booted once; must confirm before the next boot, or the previous image comes back.</summary>
        Trial = 2,
    }
}
