namespace IotOta.VirtualDevice.Flash;

/// <summary>Which kind of flash operation a <see cref="FlashOp"/> describes.</summary>
public enum FlashOpKind
{
    Erase,
    Write,
}
