namespace IotOta.Gateway.Scheduling;

/// <summary>
/// Chooses, for a device that asks for the packets it misses (a device back from being offline, or one whose peer
/// copies were lost), a donor for each packet from what its group mates reported holding: among the online members
/// that hold the packet (a member that runs the image holds all of it, in its active slot), the one with the fewest
/// packets handed to it so far, so the work spreads over the holders instead of going round-robin to members that may
/// hold nothing. The gateway sends a packet itself only when no online member of the group holds it (and only when
/// the scheduler has it delivered to the group, i.e. it is not still on its way). Pure: no I/O, no clock.
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
    {
        if (chunkCount <= 0 || perDonor <= 0 && gatewayBudget <= 0) return DonorPlan.Empty;
        var byDonor = new Dictionary<uint, List<int>>();
        var gateway = new List<int>();
        var load = new int[mates.Count];
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
            else if (!anyHolder && gateway.Count < gatewayBudget && gatewayMaySend(k))
            {
                gateway.Add(k);
            }
        }
        return new DonorPlan(byDonor.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<int>)kv.Value), gateway);
    }
}
