namespace IotOta.Gateway.Rollouts;

/// <summary>
/// Splits a rollout's devices into phases: a canary set (explicit devices, the first N devices, or the first K target
/// groups), then cumulative percentages of the fleet (e.g. 10, 50, 100) or, without percentages, the rest. Devices
/// are taken round-robin over groups (ordered by node id inside a group), so every phase spans the groups and its
/// originals can be relayed. Pure: the same input gives the same plan.
/// </summary>
public static class RolloutPhasePlan
{
    public static IReadOnlyList<RolloutPhase> Build(IReadOnlyList<(uint Node, int Group)> devices, PhasePlanRequest req)
    {
        ArgumentNullException.ThrowIfNull(devices);
        ArgumentNullException.ThrowIfNull(req);
        Validate(req, devices);
        var all = devices.DistinctBy(d => d.Node).ToList();
        var groups = all.Select(d => d.Group).Distinct().OrderBy(g => g).ToList();
        var used = new HashSet<uint>();
        var phases = new List<RolloutPhase>();

        List<uint> canary;
        if (req.CanaryDevices is { Count: > 0 } explicitDevices) canary = explicitDevices.Distinct().ToList();
        else if (req.CanaryCount > 0) canary = Spread(all).Take(req.CanaryCount).ToList();
        else if (req.CanaryGroups > 0)
        {
            var canaryGroups = groups.Take(req.CanaryGroups).ToHashSet();
            canary = all.Where(d => canaryGroups.Contains(d.Group)).Select(d => d.Node).OrderBy(n => n).ToList();
        }
        else canary = new List<uint>();
        if (canary.Count > 0)
        {
            phases.Add(new RolloutPhase("canary", canary));
            used.UnionWith(canary);
        }

        var order = Spread(all).Where(n => !used.Contains(n)).ToList();
        var percentages = req.Percentages is { Count: > 0 } p ? p.ToList() : new List<int> { 100 };
        int taken = 0;
        foreach (int pct in percentages)
        {
            // Cumulative share of the whole fleet, canary included.
            int want = pct >= 100 ? order.Count : Math.Max(0, (int)Math.Ceiling(all.Count * pct / 100.0) - used.Count);
            want = Math.Min(order.Count, Math.Max(want, taken));
            var add = order.Skip(taken).Take(want - taken).ToList();
            taken = want;
            bool last = pct >= 100;
            if (add.Count == 0 && !last) continue;
            phases.Add(new RolloutPhase(pct + " %", add, last));
        }
        return phases;
    }

    /// <summary>Round-robin over groups, node order inside each.</summary>
    private static IEnumerable<uint> Spread(IReadOnlyList<(uint Node, int Group)> devices)
    {
        var byGroup = devices.GroupBy(d => d.Group).OrderBy(g => g.Key).Select(g => g.Select(d => d.Node).OrderBy(n => n).ToList()).ToList();
        for (int i = 0; byGroup.Any(g => i < g.Count); i++)
        {
            foreach (var g in byGroup)
            {
                if (i < g.Count) yield return g[i];
            }
        }
    }

    private static void Validate(PhasePlanRequest req, IReadOnlyList<(uint Node, int Group)> devices)
    {
        int kinds = (req.CanaryDevices is { Count: > 0 } ? 1 : 0) + (req.CanaryCount > 0 ? 1 : 0) + (req.CanaryGroups > 0 ? 1 : 0);
        if (kinds > 1) throw new ArgumentException("give one canary: canaryDevices, canaryCount or canaryGroups");
        if (req.CanaryCount < 0) throw new ArgumentException("canaryCount cannot be negative");
        if (req.CanaryGroups < 0) throw new ArgumentException("canaryGroups cannot be negative");
        if (devices.Count == 0) throw new ArgumentException("no target device");
        if (req.CanaryCount >= devices.Count && req.CanaryCount > 0)
            throw new ArgumentException($"canaryCount ({req.CanaryCount}) must be less than the number of target devices ({devices.Count})");
        int groupCount = devices.Select(d => d.Group).Distinct().Count();
        if (req.CanaryGroups > 0 && req.CanaryGroups >= groupCount)
            throw new ArgumentException($"canaryGroups ({req.CanaryGroups}) must be less than the number of target groups ({groupCount})");
        if (req.CanaryDevices is { Count: > 0 } c)
        {
            var known = devices.Select(d => d.Node).ToHashSet();
            var unknown = c.Where(n => !known.Contains(n)).ToList();
            if (unknown.Count > 0) throw new ArgumentException($"canary device(s) {string.Join(", ", unknown)} are not online target devices");
            if (c.Distinct().Count() >= devices.Count) throw new ArgumentException("the canary set must leave devices for a later phase");
        }
        if (req.Percentages is { Count: > 0 } p)
        {
            for (int i = 0; i < p.Count; i++)
            {
                if (p[i] < 1 || p[i] > 100) throw new ArgumentException($"percentage {p[i]} is not 1..100");
                if (i > 0 && p[i] <= p[i - 1]) throw new ArgumentException("percentages must grow (e.g. 10, 50, 100)");
            }
            if (p[^1] != 100) throw new ArgumentException($"the last percentage is {p[^1]}: the plan must end at 100");
        }
    }
}

/// <summary>What the operator asked for: one canary kind (explicit devices, a count, or the first groups) and
/// cumulative percentages (null or empty = everything after the canary at once).</summary>
public sealed record PhasePlanRequest(IReadOnlyList<uint>? CanaryDevices = null, int CanaryCount = 0, int CanaryGroups = 0,
    IReadOnlyList<int>? Percentages = null);
