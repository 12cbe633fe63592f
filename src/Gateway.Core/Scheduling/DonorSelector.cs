namespace IotOta.Gateway.Scheduling;

/// <summary>
/// Chooses, for a device that asks for the packets it misses (a device back from being offline, or one whose peer
/// copies were lost), a donor for each packet from what its group mates reported holding: among the online members
/// that hold the packet (a member that runs the image holds all of it, in its active slot), the one with the fewest
/// packets handed to it so far, so the work spreads over the holders instead of going round-robin to members that may
/// hold nothing. The gateway sends a packet itself only when no online member of the group holds it (and only when
/// the scheduler has it delivered to the group, i.e. it is not still on its way). Pure: no I/O, no clock.
/// When no online member holds a packet but an online device of another group does, that device is ordered to send it
/// to the requester (a cross-group donor order, <see cref="DonorPlan.Across"/>) before the gateway sends it at all,
/// where the caller allows it (RepairAnswers: not while the packet is still coming to the group the planned way,
/// <see cref="RolloutScheduler.IsComing"/>; a packet whose minimum unit left with a killed device is coming to nobody):
/// the first network carries a control message instead of the packet. Among several such holders the one
/// with the fewest packets handed to it in this plan is chosen, so each donor serves few requesters.
/// </summary>
public static class DonorSelector
{
    /// <param name="chunkCount">packets in the image</param>
    /// <param name="missing">whether the requester misses packet k</param>
    /// <param name="mates">the requester's online group mates (not the requester), in a stable order</param>
    /// <param name="holds">whether a mate holds packet k (reported bitmaps; true for every k of a mate that runs the image)</param>
    /// <param name="gatewayMaySend">whether the gateway may send packet k itself when no mate holds it</param>
    /// <param name="perDonor">at most this many packets per donor in one plan (its forward queue is bounded)</param>
    /// <param name="gatewayBudget">at most this many packets from the gateway in one plan</param>
    public static DonorPlan Plan(int chunkCount, Func<int, bool> missing, IReadOnlyList<uint> mates, Func<uint, int, bool> holds,
        Func<int, bool> gatewayMaySend, int perDonor, int gatewayBudget)
        => Plan(chunkCount, missing, mates, holds, gatewayMaySend, perDonor, gatewayBudget, Array.Empty<uint>(), _ => false);

    /// <param name="others">online devices of other groups that may donate across groups, in a stable order</param>
    /// <param name="acrossAllowed">whether packet k may be ordered across groups for this requester now (false while an
    /// earlier cross-group order of k for the requester's group is still on its way)</param>
    public static DonorPlan Plan(int chunkCount, Func<int, bool> missing, IReadOnlyList<uint> mates, Func<uint, int, bool> holds,
        Func<int, bool> gatewayMaySend, int perDonor, int gatewayBudget, IReadOnlyList<uint> others, Func<int, bool> acrossAllowed)
    {
        if (chunkCount <= 0 || perDonor <= 0 && gatewayBudget <= 0) return DonorPlan.Empty;
        var byDonor = new Dictionary<uint, List<int>>();
        var gateway = new List<int>();
        var load = new int[mates.Count];
        var across = new Dictionary<uint, List<int>>();
        var acrossLoad = new int[others.Count];
        for (int k = 0; k < chunkCount; k++)
        {
            if (!missing(k)) continue;
            int best = -1;
            bool anyHolder = false;
            for (int j = 0; j < mates.Count; j++)
            {
                if (!holds(mates[j], k)) continue;
                anyHolder = true;
                if (load[j] >= perDonor) continue;
                if (best < 0 || load[j] < load[best]) best = j;
            }
            if (best >= 0)
            {
                load[best]++;
                if (!byDonor.TryGetValue(mates[best], out var list)) byDonor[mates[best]] = list = new List<int>();
                list.Add(k);
            }
            else if (!anyHolder)
            {
                if (others.Count > 0)
                {
                    int o = LeastLoadedHolder(others, acrossLoad, k, holds, perDonor, out bool otherHolds);
                    if (otherHolds && !acrossAllowed(k)) continue; // an earlier order brings it into the group
                    if (o >= 0)
                    {
                        acrossLoad[o]++;
                        if (!across.TryGetValue(others[o], out var list)) across[others[o]] = list = new List<int>();
                        list.Add(k);
                        continue;
                    }
                    if (otherHolds) continue; // held elsewhere; its donors are busy this round
                }
                if (gateway.Count < gatewayBudget && gatewayMaySend(k)) gateway.Add(k);
            }
        }
        return new DonorPlan(byDonor.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<int>)kv.Value), gateway)
        {
            Across = across.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<int>)kv.Value),
        };
    }

    private static int LeastLoadedHolder(IReadOnlyList<uint> devices, int[] load, int k, Func<uint, int, bool> holds, int perDonor, out bool anyHolder)
    {
        int best = -1;
        anyHolder = false;
        for (int j = 0; j < devices.Count; j++)
        {
            if (!holds(devices[j], k)) continue;
            anyHolder = true;
            if (load[j] >= perDonor) continue;
            if (best < 0 || load[j] < load[best]) best = j;
            if (load[best] == 0) break; // nobody does better than an unloaded holder
        }
        return best;
    }
}
