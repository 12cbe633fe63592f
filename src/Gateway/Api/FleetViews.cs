using IotOta.Gateway.Rollouts;
namespace IotOta.Gateway.Api;

/// <summary>A group at a glance: devices, online, how many per version and per state.</summary>
public sealed record GroupSummaryView(int GroupId, int Devices, int Online, IReadOnlyDictionary<string, int> Versions, IReadOnlyDictionary<string, int> States);

public static class FleetViews
{
    public static IReadOnlyList<GroupSummaryView> Groups(IReadOnlyList<DeviceView> devices) =>
        devices.GroupBy(d => d.GroupId).OrderBy(g => g.Key).Select(g => new GroupSummaryView(g.Key, g.Count(), g.Count(d => d.Online),
            g.GroupBy(d => d.Version).OrderBy(v => v.Key, StringComparer.Ordinal).ToDictionary(v => v.Key, v => v.Count()),
            g.GroupBy(d => d.State).OrderBy(v => v.Key, StringComparer.Ordinal).ToDictionary(v => v.Key, v => v.Count()))).ToList();
}
