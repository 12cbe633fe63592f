namespace IotOta.BoardProfiles;

/// <summary>
/// boards/*.json "fileStore": the storage the board program (src/Board) uses on stock nanoFramework, where the update
/// path is files on the internal littlefs partition (drive I:\) loaded with Assembly.Load. Two slots (each one
/// application bundle), the update state and the boot record are sector files there; <see cref="ReserveBytes"/> stays
/// free for littlefs' own metadata and copy-on-write blocks and for nanoFramework's configuration files (network,
/// certificates) on the same partition.
/// </summary>
public sealed record BoardFileStore(string Partition, int PartitionBytes, int SlotBytes, int StateBytes, int BootBytes, int ReserveBytes)
{
    /// <summary>What the store takes of the partition, reserve included.</summary>
    public int UsedBytes => 2 * SlotBytes + StateBytes + BootBytes + ReserveBytes;

    internal static BoardFileStore Check(string? partition, int? slot, int? state, int? boot, int? reserve,
        IReadOnlyDictionary<string, IReadOnlyList<BoardPartition>> layouts, int sector, Func<string, string, string> err)
    {
        if (string.IsNullOrWhiteSpace(partition)) throw new BoardProfileException(err("fileStore.partition", "missing"));
        if (!layouts.TryGetValue("stock", out var stock))
            throw new BoardProfileException(err("fileStore", "needs the 'stock' layout (the store lives on stock nanoFramework's file system)"));
        BoardPartition p = stock.FirstOrDefault(x => x.Name == partition)
            ?? throw new BoardProfileException(err("fileStore.partition", $"no partition '{partition}' in layout 'stock'"));
        if (p.Type != "littlefs") throw new BoardProfileException(err("fileStore.partition", $"partition '{partition}' is {p.Type}, not littlefs"));
        int Need(int? v, string field, int minSectors)
        {
            int x = v ?? throw new BoardProfileException(err("fileStore." + field, "missing"));
            if (x < minSectors * sector || x % sector != 0)
                throw new BoardProfileException(err("fileStore." + field, $"{x} must be a multiple of the sector size {sector}, at least {minSectors} sector(s)"));
            return x;
        }
        var store = new BoardFileStore(partition, p.Size, Need(slot, "slotBytes", 1), Need(state, "stateBytes", 2), Need(boot, "bootBytes", 2),
            reserve is >= 0 ? reserve.Value : throw new BoardProfileException(err("fileStore.reserveBytes", "missing or negative")));
        if (store.UsedBytes > p.Size)
            throw new BoardProfileException(err("fileStore", $"2 x slotBytes + stateBytes + bootBytes + reserveBytes = {store.UsedBytes} exceeds partition '{partition}' ({p.Size} bytes)"));
        return store;
    }
}
