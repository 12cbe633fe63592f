namespace IotOta.DeviceFirmware.Ports
{
    /// <summary>The partitions the device core uses: two app slots (A = 0, B = 1), the boot-data record, and the
    /// update state (manifest + held-packet bitmap).</summary>
    public interface IFlashLayout
    {
        IFlashPartition Slot(int index);
        IFlashPartition BootData { get; }
        IFlashPartition UpdateState { get; }
    }
}
