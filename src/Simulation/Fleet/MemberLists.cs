using IotOta.VirtualDevice.Host;

namespace IotOta.Simulation.Fleet;

/// <summary>Whether virtual devices know their whole group yet (each got its group's member list and holds every
/// member): a rollout started before that would plan for devices whose peers cannot reach them.</summary>
public static class MemberLists
{
    /// <summary>Running devices whose member list holds their whole group (groupSize: members of a group in the
    /// whole fleet; default: counted among these devices).</summary>
    public static int CompleteCount(IReadOnlyList<VirtualDeviceHost> devices, Func<int, int>? groupSize = null)
    {
        groupSize ??= g => devices.Count(x => x.GroupId == g);
        return devices.Count(d => !d.IsStopped && d.Agent.MemberCount == groupSize(d.GroupId));
    }

    /// <summary>Waits (polling every 50 ms) until every running device knows its whole group or the timeout passed;
    /// true when they all do.</summary>
    public static async Task<bool> WaitCompleteAsync(IReadOnlyList<VirtualDeviceHost> devices, TimeSpan timeout, CancellationToken ct,
        TimeProvider? time = null)
    {
        time ??= TimeProvider.System;
        long start = time.GetTimestamp();
        while (true)
        {
            int running = devices.Count(d => !d.IsStopped);
            if (CompleteCount(devices) == running) return true;
            if (time.GetElapsedTime(start) >= timeout) return false;
            await Task.Delay(TimeSpan.FromMilliseconds(50), time, ct);
        }
    }
}
