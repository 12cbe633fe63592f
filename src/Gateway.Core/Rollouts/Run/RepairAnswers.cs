using System.Collections.Concurrent;
using IotOta.Gateway.Fleet;
using IotOta.Gateway.Images;
using IotOta.Gateway.Node;
using IotOta.Gateway.Scheduling;
using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Rollouts.Run;

/// <summary>
/// The gateway's answers to repair requests (devices ask their peers first, the gateway last; a device resumed from
/// flash asks the gateway first): for each missing packet an online group mate holds, a donor chosen from the bitmaps
/// the group reported (<see cref="DonorSelector"/>) gets a donor order; the gateway itself sends only packets no online
/// member holds (at most <see cref="RolloutOptions.MaxRepairReplies"/> per request, none still on its way to the group),
/// as repair copies while the rollout is not paused or holding — and not those an online device of another group holds:
/// that device gets a cross-group donor order naming the requester's peer endpoint. Under a baseline it answers only for
/// packets lost on the device's stream (<see cref="BaselineStreams"/>). A device that failed or rolled back is nobody's
/// donor (<see cref="DeviceRecordRuns.MayDonate"/>). Thread-safe.
/// </summary>
internal sealed class RepairAnswers(IBrokerPort broker, DeviceRegistry registry, DestinationList destinations, RolloutScheduler scheduler,
    FirmwareImage image, Packetizer packetizer, RolloutOptions options, RolloutTargets targets, HeldSkipper held, RolloutCounters counters,
    BaselineStreams? streams = null)
{
    private readonly ConcurrentQueue<(uint Node, int Index)> _queue = new();
    private readonly ConcurrentDictionary<(uint, int), byte> _pending = new();
    /// <summary>(group, packet) → the requester the last cross-group order of that packet for that group went to.</summary>
    private readonly ConcurrentDictionary<(int Group, int K), uint> _across = new();

    /// <summary>Queues the packets the request asks for that the gateway should answer.</summary>
    public void OnRequest(RepairRequest r)
    {
        if (r.ImageId != image.ImageId || r.ChunkCount != image.ChunkCount) return;
        if (options.Targets != null && (registry.Get(r.NodeId) is not { } rec || !targets.IsTarget(rec.NodeId, rec.GroupId))) return;
        if (options.Baseline is { } baseline && !baseline.AnswersRepairsOf(r.NodeId)) return;
        int budget = Math.Min(r.MaxReplies, options.MaxRepairReplies);
        bool planned = options.Baseline == null;
        var knows = options.Held;
        int group = registry.Get(r.NodeId)?.GroupId ?? -1;
        var mates = knows == null ? new List<uint>() : destinations.Members.Where(m => m.GroupId == group && m.NodeId != r.NodeId).Select(m => m.NodeId).ToList();
        if (planned && knows != null)
        {
            // Donors chosen from the bitmaps the group reported; the gateway sends only what no online member holds.
            var donors = mates.Where(m => registry.Get(m) is { } d && d.MayDonate(image) && options.Health?.HasFailed(m) != true).OrderBy(m => m).ToList();
            var others = CrossGroupDonors(r.NodeId, group);
            var plan = DonorSelector.Plan(r.ChunkCount, r.IsMissing, donors, (m, k) => registry.Get(m) is { } d && d.Runs(image) || knows(m, k),
                k => scheduler.IsDeliveredTo(r.NodeId, group, k), budget, budget, others, k => AcrossAllowed(r.NodeId, group, k));
            foreach (var (donor, packets) in plan.ByDonor) Donors.Add(r.NodeId, image.ImageId, image.ChunkCount, donor, packets);
            if (plan.Across.Count > 0 && registry.Get(r.NodeId) is { Port: > 0 } rq)
            {
                foreach (var (donor, packets) in plan.Across)
                {
                    Donors.Add(r.NodeId, image.ImageId, image.ChunkCount, donor, packets, rq.Ip, rq.Port);
                    foreach (int k in packets) _across[(group, k)] = r.NodeId;
                }
            }
            foreach (int k in plan.FromGateway)
                if (_pending.TryAdd((r.NodeId, k), 0)) _queue.Enqueue((r.NodeId, k));
            return;
        }
        // A baseline repairs only what was lost on the device's stream, not what is still on its way to it.
        Func<int, bool>? lost = options.Baseline != null ? streams?.LostIn(r) : null;
        for (int i = 0; i < r.ChunkCount && budget > 0; i++)
        {
            if (!r.IsMissing(i)) continue;
            if (lost != null && !lost(i)) continue;
            // A packet still on its way to the device's group (its original not yet sent, or its notice not yet back)
            // comes as an original or a peer copy: a repair copy now would be sent twice (a device idle through a
            // broker outage asks for everything it misses).
            // Unless a group mate is known to hold it (then it is not on its way: it is planned again only when its
            // notice times out, and answering now lets the group skip it).
            if (planned && !scheduler.IsDeliveredTo(r.NodeId, group, i) && !mates.Any(m => knows!(m, i))) continue;
            if (!_pending.TryAdd((r.NodeId, i), 0)) continue;
            _queue.Enqueue((r.NodeId, i));
            budget--;
        }
    }

    /// <summary>Online devices of other groups that may donate to a requester of <paramref name="group"/> across groups,
    /// rotated to start at a place that depends on the requester: requesters of different groups get different donors,
    /// so no donor opens peer connections to many groups at once (a board has ~10 sockets).</summary>
    private List<uint> CrossGroupDonors(uint requester, int group)
    {
        var others = destinations.Members
            .Where(m => m.GroupId != group && registry.Get(m.NodeId) is { Port: > 0 } d && d.MayDonate(image) && options.Health?.HasFailed(m.NodeId) != true)
            .Select(m => m.NodeId).OrderBy(m => m).ToList();
        if (others.Count < 2) return others;
        int start = (int)(requester % (uint)others.Count);
        return others.Skip(start).Concat(others.Take(start)).ToList();
    }

    /// <summary>Packet k may be ordered across groups for this requester unless it is still coming to the group the
    /// planned way (<see cref="RolloutScheduler.IsComing"/>: not yet sent, or its minimum unit has not noticed and has
    /// not left), or an earlier cross-group order of k for its group went to another requester that is still online:
    /// that one copies it on to the group (its relay copies reach this requester too). The same requester asking again
    /// means the copy did not come: it may be ordered again.
    /// A packet on its way was ordered across too, and the requester, a minimum unit for it, copied it to its whole
    /// group again: at N = 1,000 devices deep in their groups' copy trees, with nothing yet 1.5 s after they held the
    /// hash list, asked their peers and then the gateway for all 64 packets; the packets whose originals other groups
    /// had noticed went to them across, each such requester got 12-26 relay copies and sent 110-166 copies where its
    /// group mates sent ~65, and the last device finished 38-58 s into the rollout instead of ~29.</summary>
    private bool AcrossAllowed(uint requester, int group, int k)
    {
        if (scheduler.IsComing(group, k, n => registry.Get(n) is { } d && d.MayDonate(image))) return false;
        if (!_across.TryGetValue((group, k), out uint earlier) || earlier == requester) return true;
        return registry.Get(earlier) is not { Online: true } e || e.Runs(image);
    }

    /// <summary>For the scheduler (<see cref="RolloutScheduler.CrossGroupRescue"/>): instead of re-sending packet k into
    /// <paramref name="group"/> (its delivery was orphaned by a device that left), orders an online device of another
    /// group that holds it to send it, as relay copies, to an online member of the group that misses it; that member
    /// copies it on inside the group and its notice ends the delivery. One donor and one member per group (chosen from
    /// the group id), so the order opens one peer connection into the group. False when nobody can.</summary>
    public bool OrderAcross(int group, int k)
    {
        if (options.Held is not { } knows || options.Baseline != null || k < 0 || k >= image.ChunkCount) return false;
        // an order made for the group before (a member's repair request) still on its way: its notice ends the delivery
        if (_across.TryGetValue((group, k), out uint earlier) && registry.Get(earlier) is { Online: true } e && !e.Runs(image) && !knows(earlier, k)) return true;
        var members = destinations.Members.Where(m => m.GroupId == group).OrderBy(m => m.NodeId).ToList();
        var holders = destinations.Members.Where(m => m.GroupId != group).OrderBy(m => m.NodeId).ToList();
        if (members.Count == 0 || holders.Count == 0) return false;
        FleetMember? to = Rotated(members, group).FirstOrDefault(m => registry.Get(m.NodeId) is { Online: true, Port: > 0 } d && !d.Runs(image) && !knows(m.NodeId, k));
        FleetMember? from = Rotated(holders, group).FirstOrDefault(m => registry.Get(m.NodeId) is { } d && d.MayDonate(image) && (d.Runs(image) || knows(m.NodeId, k))
            && options.Health?.HasFailed(m.NodeId) != true);
        if (to == null || from == null || registry.Get(to.NodeId) is not { } rq) return false;
        Donors.Add(to.NodeId, image.ImageId, image.ChunkCount, from.NodeId, new[] { k }, rq.Ip, rq.Port);
        _across[(group, k)] = to.NodeId;
        return true;
    }

    private static IEnumerable<FleetMember> Rotated(List<FleetMember> list, int seed)
    {
        int start = (int)((uint)seed % (uint)list.Count);
        return list.Skip(start).Concat(list.Take(start));
    }

    /// <summary>Repair requests handed to donors of the requesters' groups (Scheduling/DonorSelector).</summary>
    public DonorOrders Donors { get; } = new();

    /// <summary>Publishes up to <paramref name="max"/> donor orders, then up to <paramref name="max"/> queued repair
    /// copies; true when any went out.</summary>
    public async Task<bool> SendAsync(int max, CancellationToken ct)
    {
        bool worked = false;
        for (int n = 0; n < max && Donors.TryTake(out uint donor, out byte[] order); n++)
        {
            await broker.PublishAsync(Topics.DeviceIn(donor), order, qos: BrokerQos.AtMostOnce, ct: ct);
            worked = true;
        }
        for (int n = 0; n < max && _queue.TryDequeue(out var rep); n++)
        {
            _pending.TryRemove(rep, out _);
            var dev = registry.Get(rep.Node);
            if (dev == null || !dev.Online || dev.Runs(image)) continue;
            // it asked a while ago; its peers may have given it the packet since
            if (options.Held is { } knows && knows(rep.Node, rep.Index)) continue;
            held.CountResent(rep.Node, rep.Index, true);
            await broker.PublishAsync(Topics.DeviceIn(rep.Node), packetizer.RepairCopy(rep.Index), qos: BrokerQos.AtMostOnce, ct: ct);
            counters.Repair(packetizer.PayloadLength(rep.Index));
            worked = true;
        }
        return worked;
    }
}
