namespace IotOta.VirtualDevice.Flash;

/// <summary>Thrown by <see cref="FileFlash"/> when its <see cref="FileFlash.PowerCut"/> hook tore an operation:
/// the device "lost power" in the middle of it. Flash holds the torn result.</summary>
public sealed class PowerCutException : Exception
{
    public PowerCutException(FlashOp op)
        : base($"power cut during {op.Kind.ToString().ToLowerInvariant()} of {op.Length} bytes at offset 0x{op.Offset:X}"
               + (op.Partition != null ? $" in '{op.Partition}'" : "") + $" (address 0x{op.Address:X})")
    {
        Op = op;
    }

    public FlashOp Op { get; }
}
