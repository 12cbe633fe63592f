using IotOta.Gateway.Fleet;

namespace IotOta.Gateway.Images;

/// <summary>
/// Whether an image fits its targets: every target device's update slot must hold the image and its largest chunk
/// must be at least the image's chunk size. Devices that announced no capabilities (older presence) are not judged.
/// Pure: the gateway asks it before anything is sent and refuses the rollout with <see cref="Problem"/>.
/// </summary>
public static class ImageFit
{
    /// <summary>Null when the image fits every target that announced its board; otherwise one clear sentence naming
    /// the devices (at most 8 ids each) and the limits they announced.</summary>
    public static string? Problem(long imageSize, int chunkSize, IEnumerable<DeviceRecord> targets)
    {
        ArgumentNullException.ThrowIfNull(targets);
        var known = targets.Where(d => d.Capabilities != null).ToList();
        var parts = new List<string>();
        var small = known.Where(d => d.Capabilities!.SlotSize < imageSize).ToList();
        if (small.Count > 0)
        {
            int largest = small.Max(d => d.Capabilities!.SlotSize);
            parts.Add($"the image of {imageSize} bytes does not fit the update slot of {Describe(small)} (slot {Sizes(small.Select(d => d.Capabilities!.SlotSize))} bytes; at most {largest} bytes fit)");
        }
        var narrow = known.Where(d => d.Capabilities!.MaxChunkSize < chunkSize).ToList();
        if (narrow.Count > 0)
        {
            parts.Add($"its chunk size {chunkSize} exceeds the max chunk of {Describe(narrow)} ({Sizes(narrow.Select(d => d.Capabilities!.MaxChunkSize))} bytes)");
        }
        return parts.Count == 0 ? null : string.Join("; ", parts);
    }

    /// <summary>The same check against a board profile's slot and largest chunk (an upload that names its board).</summary>
    public static string? Problem(long imageSize, int chunkSize, string board, int slotSize, int maxChunkSize)
    {
        var parts = new List<string>();
        if (imageSize > slotSize) parts.Add($"the image of {imageSize} bytes does not fit board {board}'s update slot of {slotSize} bytes");
        if (chunkSize > maxChunkSize) parts.Add($"its chunk size {chunkSize} exceeds board {board}'s max chunk of {maxChunkSize} bytes");
        return parts.Count == 0 ? null : string.Join("; ", parts);
    }

    private static string Describe(List<DeviceRecord> devices) => DeviceIdList.Describe(devices.Select(d => d.NodeId));

    private static string Sizes(IEnumerable<int> sizes)
    {
        var distinct = sizes.Distinct().Order().ToList();
        return string.Join(" / ", distinct);
    }
}
