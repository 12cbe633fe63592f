namespace IotOta.VirtualDevice.Flash;

/// <summary>
/// One flash operation as seen by <see cref="FileFlash.PowerCut"/>: an erase of one sector or one write call.
/// <paramref name="Partition"/> is the partition name (or null for a chip-level call), <paramref name="Offset"/> is
/// relative to that partition, <paramref name="Address"/> is absolute on the chip, <paramref name="Sequence"/> counts
/// every operation the chip has been asked to do (erase sectors and writes) since it was opened, starting at 0.
/// </summary>
public readonly record struct FlashOp(FlashOpKind Kind, string? Partition, int Offset, int Address, int Length, long Sequence);
