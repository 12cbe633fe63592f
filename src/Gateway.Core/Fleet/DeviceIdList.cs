namespace IotOta.Gateway.Fleet;

/// <summary>Names devices in a refusal message: "device 7", or "12 devices (1, 2, …, 8 and 4 more)" — at most 8 ids.</summary>
public static class DeviceIdList
{
    public static string Describe(IEnumerable<uint> nodes)
    {
        var ids = nodes.Distinct().Order().Select(n => n.ToString()).ToList();
        string list = ids.Count <= 8 ? string.Join(", ", ids) : string.Join(", ", ids.Take(8)) + $" and {ids.Count - 8} more";
        return ids.Count == 1 ? $"device {list}" : $"{ids.Count} devices ({list})";
    }
}
