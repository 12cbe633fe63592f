namespace IotOta.Shared.Protocol
{
    /// <summary>Where a device is in an update, as it reports it.</summary>
    public enum DeviceState : byte
    {
        Idle = 0,
        Receiving = 1,
        Verifying = 2,
        Installing = 3,
        PendingConfirm = 4,
        Updated = 5,
        Failed = 6,
        RolledBack = 7,
    }
}
