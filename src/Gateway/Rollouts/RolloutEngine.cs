using System.Collections.Concurrent;
using System.Diagnostics;
using IotOta.Gateway.Fleet;
using IotOta.Gateway.Images;
using IotOta.Gateway.Mqtt;
using IotOta.Gateway.Scheduling;
using IotOta.Shared.Protocol;
using MQTTnet.Protocol;

namespace IotOta.Gateway.Rollouts;

/// <summary>
/// Runs one rollout: publishes the signed manifest (retained), then keeps publishing originals as the scheduler
/// plans them, registers their send times, takes receipt notices and repair requests, and ends when every target
/// device runs the new version (or the timeout passes).
/// </summary>
public sealed class RolloutEngine
{
    private readonly GatewayMqttClient _mqtt;
    private readonly DeviceRegistry _registry;
    private readonly DestinationList _destinations;
    private readonly OverheadTable _overheads;
    private readonly FirmwareImage _image;
    private readonly Packetizer _packetizer;
    private readonly RolloutOptions _options;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _wake = new(0, int.MaxValue);
    private readonly ConcurrentQueue<(uint Node, int Index)> _repairs = new();
    private readonly ConcurrentDictionary<(uint, int), byte> _repairPending = new();
    private readonly HashSet<uint> _targets = new();
    private readonly HashSet<int> _targetGroups = new();
    private readonly HashSet<int> _manifestGroups = new();
    private readonly object _gate = new();
    private long _gatewayPayload, _originals, _relays, _repairCopies, _resent, _skipped;
    private int _seenDisconnects, _reconnects;
    private long _startTimestamp;
    private long _deliveredAt;
    private volatile bool _paused;
    private long _pausedSince;
    private long _pausedTicks;
    private readonly Queue<SendOrder> _recent = new();
    private const int RecentOrderCapacity = 64;

    public RolloutEngine(GatewayMqttClient mqtt, DeviceRegistry registry, DestinationList destinations, OverheadTable overheads,
        FirmwareImage image, RolloutOptions options, TimeProvider time)
    {
        _mqtt = mqtt;
        _registry = registry;
        _destinations = destinations;
        _overheads = overheads;
        _image = image;
        _packetizer = new Packetizer(image);
        _options = options;
        _time = time;
        // Sequential-only devices (from their presence) pace their groups in order (Scheduling/SequentialWindow).
        var scheduling = options.Scheduler.StagingCapacityOf != null ? options.Scheduler : options.Scheduler with
        {
            StagingCapacityOf = n => registry.Get(n)?.Capabilities is { SequentialSink: true } c ? Math.Max(1, c.StagingCapacity) : 0,
        };
        Scheduler = new RolloutScheduler(image.ChunkCount, image.Manifest.ChunkLength, scheduling, overheads, time);
    }

    public RolloutScheduler Scheduler { get; }
    /// <summary>Repair requests handed to donors of the requester's group (Scheduling/DonorSelector).</summary>
    public DonorOrders DonorOrders { get; } = new();
    public FirmwareImage Image => _image;
    public long GatewayPayloadBytes => Interlocked.Read(ref _gatewayPayload);
    public RolloutOptions Options => _options;
    /// <summary>Payload bytes sent to devices for packets they were known to hold.</summary>
    public long ResentBytes => Interlocked.Read(ref _resent);
    /// <summary>Cancelled when the gateway node itself goes away (not an operator's abort): the retained manifests stay,
    /// as they would when the process is killed, so that a restarted gateway resumes the rollout.</summary>
    internal CancellationToken Shutdown { get; set; }

    private void CountResent(uint node, int index, bool repair)
    {
        if (_options.Held is { } held && held(node, index))
        {
            Interlocked.Add(ref _resent, _packetizer.PayloadLength(index));
            if (repair) Interlocked.Add(ref _resentRepairs, _packetizer.PayloadLength(index));
        }
    }

    private long _heldVersionSeen = -1, _lastHeldPass, _resentRepairs;

    /// <summary>Payload bytes of repair copies among <see cref="ResentBytes"/>.</summary>
    public long ResentRepairBytes => Interlocked.Read(ref _resentRepairs);

    /// <summary>At most every 250 ms, when devices reported something new: skip what whole groups hold.</summary>
    private void SkipHeldIfLearned()
    {
        if (_options.Held == null || _options.HeldVersion == null || _time.GetElapsedTime(_lastHeldPass) < TimeSpan.FromMilliseconds(250)) return;
        _lastHeldPass = _time.GetTimestamp();
        long v = _options.HeldVersion();
        if (v == _heldVersionSeen) return;
        _heldVersionSeen = v;
        var members = _destinations.Members;
        if (_options.Targets != null) members = members.Where(m => IsTarget(m.NodeId, m.GroupId)).ToList();
        SkipHeld(members);
    }

    /// <summary>Marks delivered, for each group, the packets some member is known to hold and nobody is bringing (and
    /// those every member holds): only the rest is planned.
    /// A member that holds a packet is its group's source for it: the others repair from their peers first, so the
    /// gateway does not send it into the group again (after a gateway restart, a packet the root had passed on to part
    /// of its group before the kill would otherwise go out a second time). If that member leaves, the group's repair
    /// requests reach the gateway in the end.</summary>
    private void SkipHeld(IReadOnlyList<FleetMember> members)
    {
        if (_options.Held is not { } held) return;
        if (_options.Health is { } health) members = members.Where(m => !health.HasFailed(m.NodeId)).ToList();
        Interlocked.Add(ref _skipped, Scheduler.SkipHeld(members, (node, k) => held(node, k)));
    }

    private volatile string? _pauseReason;
    private HealthVerdict? _verdict;
    private long _lastHealthCheck;

    /// <summary>Why the engine paused itself (the health gate's failure threshold); null when running or paused by the operator.</summary>
    public string? PauseReason => _pauseReason;
    public HealthVerdict? Health => _verdict;

    private readonly HashSet<uint> _participants = new();

    private DeviceHealthSample? Sample(uint node)
    {
        if (_registry.Get(node) is not { } d) return null;
        // A device that rolled back reports no image any more: it is ours when it reported this image before, or is
        // known to hold packets of it.
        bool ours = d.ImageId == _image.ImageId;
        if (ours) _participants.Add(node);
        else if (d.ImageId == 0 && (_participants.Contains(node) || _options.Held is { } held && (held(node, 0) || held(node, _image.ChunkCount - 1)))) ours = true;
        var state = d.State is DeviceState.Failed or DeviceState.RolledBack && !ours && !IsUpdated(d) ? DeviceState.Idle : d.State;
        return new DeviceHealthSample(node, d.Online, state, IsUpdated(d), ours && d.ChunkCount == _image.ChunkCount && d.HeldCount >= _image.ChunkCount);
    }

    /// <summary>Reads the health gate (at most every 100 ms): pauses the rollout when failures pass the threshold;
    /// true when the phase passed and the run should hand over to the next phase.</summary>
    private bool CheckHealth()
    {
        if (_options.Health is not { } gate || _time.GetElapsedTime(_lastHealthCheck) < TimeSpan.FromMilliseconds(100)) return false;
        _lastHealthCheck = _time.GetTimestamp();
        HashSet<uint> targets;
        lock (_gate) targets = new HashSet<uint>(_targets);
        var phaseNodes = _options.PhaseDevices ?? targets.ToList();
        var phase = phaseNodes.Select(Sample).OfType<DeviceHealthSample>().ToList();
        var others = targets.Where(t => !phaseNodes.Contains(t)).Select(Sample).OfType<DeviceHealthSample>().ToList();
        var v = gate.Evaluate(phase, others);
        if (v.FailedTotal != (_verdict?.FailedTotal ?? 0)) OnMembership(_destinations.Members);
        _verdict = v;
        if (v.Pause && !_paused && Pause()) _pauseReason = "paused by the health gate: " + v.Reason;
        return _options.EndWhenPhasePassed && v.PhasePassed && !_paused;
    }

    /// <summary>True while the rollout is paused: no originals or repair copies go out, notices are still taken.</summary>
    public bool IsPaused => _paused;

    /// <summary>Stops sending originals and repair copies until <see cref="Resume"/>; time paused does not count
    /// toward the timeout. Returns false when already paused.</summary>
    public bool Pause()
    {
        lock (_gate)
        {
            if (_paused) return false;
            _pausedSince = _time.GetTimestamp();
            _paused = true;
        }
        _wake.Release();
        return true;
    }

    /// <summary>Sends again after <see cref="Pause"/>. Returns false when not paused.</summary>
    public bool Resume()
    {
        lock (_gate)
        {
            if (!_paused) return false;
            _pausedTicks += _time.GetTimestamp() - _pausedSince;
            _paused = false;
            _pauseReason = null;
        }
        _options.Health?.Acknowledge(); // the operator saw the failures so far: only new ones count against the threshold
        _wake.Release();
        return true;
    }

    /// <summary>The latest send orders (newest last), at most 64: who got each original and which relays it named.</summary>
    public IReadOnlyList<SendOrder> RecentOrders()
    {
        lock (_recent) return _recent.ToList();
    }

    private IEnumerator<(string Topic, int Index)>? _baseline;
    private readonly ConcurrentDictionary<uint, byte> _seeds = new();

    /// <summary>What a baseline strategy publishes, packet by packet (each as a repair-flagged copy, which devices
    /// write and do not forward): every target device (unicast), every group's data topic (group fan-out), or one seed
    /// device per group (gossip).</summary>
    private IEnumerable<(string Topic, int Index)> BaselineSends(IReadOnlyList<FleetMember> fleet)
    {
        var members = fleet.Where(m => IsTarget(m.NodeId, m.GroupId)).OrderBy(m => m.NodeId).ToList();
        var groups = members.GroupBy(m => m.GroupId).OrderBy(g => g.Key).ToList();
        foreach (var g in groups) _seeds[g.First().NodeId] = 0;
        for (int k = 0; k < _image.ChunkCount; k++)
        {
            switch (_options.Strategy)
            {
                case RolloutStrategy.Unicast:
                    foreach (var m in members) yield return (Topics.DeviceIn(m.NodeId), k);
                    break;
                case RolloutStrategy.GroupFanout:
                    foreach (var g in groups) yield return (_options.GroupDataTopic(g.Key), k);
                    break;
                case RolloutStrategy.Gossip:
                    foreach (var g in groups) yield return (Topics.DeviceIn(g.First().NodeId), k);
                    break;
            }
        }
    }

    private bool IsTarget(uint node, int group) => _options.Targets == null || _options.Targets(node, group);

    /// <summary>The node told the gateway what it holds (a progress report or a repair request).</summary>
    public void OnHeldReport(uint node)
    {
        bool rejoined;
        lock (_gate)
        {
            if (_settling) _reportedSinceReconnect.Add(node);
            rejoined = _awaitingReport.Remove(node);
        }
        if (rejoined) OnMembership(_destinations.Members);
        _wake.Release();
    }

    /// <summary>After the gateway's MQTT link came back: nothing is planned until every online target device that is
    /// still receiving told what it holds (devices report on every reconnect) or <see cref="RolloutOptions.ReconnectSettle"/>
    /// passed; then the packets whole groups hold are marked delivered, so the receipt notices the outage swallowed do
    /// not make them go out again.</summary>
    private bool Settling()
    {
        HashSet<uint> targets;
        lock (_gate)
        {
            if (!_settling) return false;
            targets = new HashSet<uint>(_targets);
            targets.ExceptWith(_reportedSinceReconnect);
        }
        bool waiting = _time.GetElapsedTime(_settleStart) < _options.ReconnectSettle && targets.Any(t =>
            _registry.Get(t) is { Online: true } d && !IsUpdated(d) && d.State != DeviceState.Failed && d.State != DeviceState.RolledBack);
        if (waiting) return true;
        lock (_gate) _settling = false;
        var members = _destinations.Members;
        if (_options.Targets != null) members = members.Where(m => IsTarget(m.NodeId, m.GroupId)).ToList();
        SkipHeld(members);
        _lastHeldPass = _time.GetTimestamp();
        return false;
    }

    private bool _settling;
    private long _settleStart;
    private readonly HashSet<uint> _reportedSinceReconnect = new();

    public void OnNotice(ReceiptNotice n)
    {
        if (n.ImageId != _image.ImageId) return;
        _overheads.RegisterNotice(n, _image.Manifest.ChunkLength(Math.Min(n.Index, _image.ChunkCount - 1)));
        Scheduler.OnNotice(n.NodeId, n.Index);
        _wake.Release();
    }

    public void OnRepairRequest(RepairRequest r)
    {
        if (r.ImageId != _image.ImageId || r.ChunkCount != _image.ChunkCount) return;
        if (_options.Targets != null && (_registry.Get(r.NodeId) is not { } rec || !IsTarget(rec.NodeId, rec.GroupId))) return;
        if (_options.Strategy == RolloutStrategy.Gossip && !_seeds.ContainsKey(r.NodeId)) return;
        int budget = Math.Min(r.MaxReplies, _options.MaxRepairReplies);
        bool planned = _options.Strategy == RolloutStrategy.IotOta;
        var held = _options.Held;
        int group = _registry.Get(r.NodeId)?.GroupId ?? -1;
        var mates = held == null ? new List<uint>() : _destinations.Members.Where(m => m.GroupId == group && m.NodeId != r.NodeId).Select(m => m.NodeId).ToList();
        if (planned && held != null)
        {
            // Donors chosen from the bitmaps the group reported; the gateway sends only what no online member holds.
            var donors = mates.Where(m => _registry.Get(m) is { Online: true } && _options.Health?.HasFailed(m) != true).OrderBy(m => m).ToList();
            var plan = DonorSelector.Plan(r.ChunkCount, r.IsMissing, donors, (m, k) => _registry.Get(m) is { } rec && IsUpdated(rec) || held(m, k),
                k => Scheduler.IsDeliveredTo(r.NodeId, k), budget, budget);
            foreach (var (donor, packets) in plan.ByDonor) DonorOrders.Add(r.NodeId, _image.ImageId, _image.ChunkCount, donor, packets);
            foreach (int k in plan.FromGateway)
                if (_repairPending.TryAdd((r.NodeId, k), 0)) _repairs.Enqueue((r.NodeId, k));
            _wake.Release();
            return;
        }
        for (int i = 0; i < r.ChunkCount && budget > 0; i++)
        {
            if (!r.IsMissing(i)) continue;
            // A packet still on its way to the device's group (its original not yet sent, or its notice not yet back)
            // comes as an original or a peer copy: a repair copy now would be sent twice (a device idle through a
            // broker outage asks for everything it misses).
            // Unless a group mate is known to hold it (then it is not on its way: it is planned again only when its
            // notice times out, and answering now lets the group skip it).
            if (planned && !Scheduler.IsDeliveredTo(r.NodeId, i) && !mates.Any(m => held!(m, i))) continue;
            if (!_repairPending.TryAdd((r.NodeId, i), 0)) continue;
            _repairs.Enqueue((r.NodeId, i));
            budget--;
        }
        _wake.Release();
    }

    /// <summary>Publishes the manifest (retained) on the manifest topic of every target group that does not have it
    /// yet: only devices of targeted groups ever see it, and a group that appears mid-rollout gets it too.</summary>
    private async Task PublishManifestsAsync(CancellationToken ct)
    {
        if (_options.ManifestPerDevice)
        {
            await PublishDeviceManifestsAsync(ct);
            return;
        }
        List<int> groups;
        lock (_gate) groups = _targetGroups.Where(g => !_manifestGroups.Contains(g)).ToList();
        foreach (int g in groups)
        {
            await _mqtt.PublishAsync(Topics.GroupManifest(g), _image.ManifestBytes, retain: true, ct: ct);
            lock (_gate) _manifestGroups.Add(g);
        }
    }

    private readonly Dictionary<uint, long> _manifestSentAt = new();
    private static readonly TimeSpan ManifestResend = TimeSpan.FromSeconds(3);

    /// <summary>The manifest to each target device's own topic, again every few seconds while the device has not
    /// reported this image (it was offline, or the message was lost); not to devices that are done or failed.</summary>
    private async Task PublishDeviceManifestsAsync(CancellationToken ct)
    {
        List<uint> targets;
        lock (_gate) targets = _targets.ToList();
        foreach (uint t in targets)
        {
            if (_registry.Get(t) is not { Online: true } d || d.ImageId == _image.ImageId || IsUpdated(d)) continue;
            if (_options.Health?.HasFailed(t) == true) continue;
            if (_manifestSentAt.TryGetValue(t, out long at) && _time.GetElapsedTime(at) < ManifestResend) continue;
            _manifestSentAt[t] = _time.GetTimestamp();
            await _mqtt.PublishAsync(Topics.DeviceIn(t), _image.ManifestBytes, ct: ct);
        }
    }

    private uint _treeEpochPublished;
    private bool _treesLost;
    private long _treesPublishedAt;
    private readonly Dictionary<int, byte[]> _treeTables = new();

    /// <summary>Relay trees (more groups than one original names): publishes each group's table, retained, when the
    /// scheduler rebuilt the trees — at most once a second while the fleet is still joining — and clears the tables
    /// of groups that no longer have one. Only tables whose bytes changed go out.</summary>
    private async Task PublishRelayTreesAsync(CancellationToken ct)
    {
        uint epoch = Scheduler.TreeEpoch;
        if (epoch == _treeEpochPublished && !_treesLost) return;
        if (_treesPublishedAt != 0 && _time.GetElapsedTime(_treesPublishedAt) < TimeSpan.FromSeconds(1)) return;
        var tables = Scheduler.RelayTables(_image.ImageId).ToDictionary(t => t.GroupId, t => t.ToBytes());
        foreach (var (g, bytes) in tables)
        {
            if (_treeTables.TryGetValue(g, out var old) && old.AsSpan().SequenceEqual(bytes)) continue;
            await _mqtt.PublishAsync(Topics.GroupTree(g), bytes, retain: true, ct: ct);
            _treeTables[g] = bytes;
        }
        foreach (int g in _treeTables.Keys.Where(g => !tables.ContainsKey(g)).ToList())
        {
            await _mqtt.PublishAsync(Topics.GroupTree(g), Array.Empty<byte>(), retain: true, ct: ct);
            _treeTables.Remove(g);
        }
        _treeEpochPublished = epoch;
        _treesLost = false;
        _treesPublishedAt = _time.GetTimestamp();
    }

    /// <summary>An aborted rollout takes its manifest back, so devices that connect later do not start it.</summary>
    private async Task ClearManifestsAsync(CancellationToken ct)
    {
        List<int> groups;
        lock (_gate) groups = _manifestGroups.ToList();
        foreach (int g in groups)
        {
            try
            {
                await _mqtt.PublishAsync(Topics.GroupManifest(g), Array.Empty<byte>(), retain: true, ct: ct);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // broker unreachable or slow: the retained manifest stays until the next rollout replaces it
                return;
            }
        }
    }

    private readonly Dictionary<uint, long> _awaitingReport = new();
    private HashSet<uint>? _lastMembers;

    /// <summary>Devices that came (back) online mid-rollout wait, out of the plan, until they told what they hold
    /// (or <see cref="RolloutOptions.ReconnectSettle"/> passed): a device back from a partition or a reboot is not sent
    /// originals of packets it already has.</summary>
    private List<FleetMember> WithoutAwaiting(IReadOnlyList<FleetMember> members)
    {
        lock (_gate)
        {
            var now = _time.GetTimestamp();
            if (_lastMembers != null)
            {
                foreach (var m in members)
                    if (!_lastMembers.Contains(m.NodeId) && !_awaitingReport.ContainsKey(m.NodeId)) _awaitingReport[m.NodeId] = now;
            }
            _lastMembers = members.Select(m => m.NodeId).ToHashSet();
            foreach (var (n, since) in _awaitingReport.ToList())
                if (!_lastMembers.Contains(n) || _time.GetElapsedTime(since, now) >= _options.ReconnectSettle) _awaitingReport.Remove(n);
            return members.Where(m => !_awaitingReport.ContainsKey(m.NodeId)).ToList();
        }
    }

    private void OnMembership(IReadOnlyList<FleetMember> members)
    {
        if (_options.Targets != null) members = members.Where(m => IsTarget(m.NodeId, m.GroupId)).ToList();
        IReadOnlyList<FleetMember> live = WithoutAwaiting(members);
        // A device that failed (rolled back, silent) refuses the image: it is no root or relay for anyone.
        if (_options.Health is { } health) live = live.Where(m => !health.HasFailed(m.NodeId)).ToList();
        Scheduler.UpdateFleet(live);
        SkipHeld(live);
        lock (_gate)
        {
            foreach (var m in members)
            {
                _targets.Add(m.NodeId);
                _targetGroups.Add(m.GroupId);
            }
        }
        _wake.Release();
    }

    private bool Reachable(SendOrder order) =>
        _registry.Get(order.Root.NodeId) is not { Online: false } && order.Relays.All(r => _registry.Get(r.NodeId) is not { Online: false });

    /// <summary>With a window, the devices the gateway knows that are offline as it starts are targets too (pending until
    /// they return): their groups get the manifest, and the rollout waits for them.</summary>
    private void AddKnownOfflineTargets()
    {
        lock (_gate)
        {
            foreach (var d in _registry.All())
            {
                if (d.Online || !IsTarget(d.NodeId, d.GroupId)) continue;
                _targets.Add(d.NodeId);
                _targetGroups.Add(d.GroupId);
            }
        }
    }

    /// <summary>With a window: an offline target that is neither updated nor failed.</summary>
    private bool IsPending(DeviceRecord d) => _options.Window != null && !d.Online && !IsUpdated(d) && d.State != DeviceState.Failed
        && _options.Health?.HasFailed(d.NodeId) != true;

    private bool IsUpdated(DeviceRecord d) => d.Version.SameAs(_image.Version) && d.State == DeviceState.Updated;

    public RolloutSnapshot Snapshot()
    {
        HashSet<uint> targets;
        lock (_gate) targets = new HashSet<uint>(_targets);
        var devices = _registry.All().Where(d => targets.Contains(d.NodeId)).ToList();
        var groups = devices.GroupBy(d => d.GroupId).OrderBy(g => g.Key).Select(g => new GroupProgress(g.Key, g.Count(),
            g.Count(IsUpdated),
            g.Sum(d => IsUpdated(d) ? _image.ChunkCount : d.ImageId == _image.ImageId ? d.HeldCount : 0),
            (long)g.Count() * _image.ChunkCount)).ToList();
        var (done, total) = Scheduler.Progress;
        return new RolloutSnapshot(_time.GetElapsedTime(_startTimestamp), groups, devices.Count, devices.Count(IsUpdated),
            devices.Count(d => d.State == DeviceState.Failed || _options.Health?.HasFailed(d.NodeId) == true), GatewayPayloadBytes, _image.Bytes.Length,
            done, total, _paused, _pauseReason, _verdict) { Pending = devices.Count(IsPending) };
    }

    public async Task<RolloutResult> RunAsync(IProgress<RolloutSnapshot>? progress, CancellationToken ct)
    {
        _startTimestamp = _time.GetTimestamp();
        if (_options.Window != null) AddKnownOfflineTargets();
        OnMembership(_destinations.Members);
        _destinations.Changed += OnMembership;
        try
        {
            // The relay-tree tables go out before the manifests: a device gets its MQTT messages in publish order and
            // takes no packet before its manifest, so a relay holds its group's table before the first tree relay copy
            // (sent over TCP, which can overtake MQTT) can reach it. A table is used only with the manifest of its image.
            await PublishRelayTreesAsync(ct);
            await PublishManifestsAsync(ct);
            if (_options.Strategy != RolloutStrategy.IotOta) _baseline = BaselineSends(_destinations.Members).GetEnumerator();
            long lastProgress = 0;
            bool timedOut = false, phasePassed = false;
            _seenDisconnects = _mqtt.Disconnects;
            while (true)
            {
                ct.ThrowIfCancellationRequested();
                if (_mqtt.Disconnects != _seenDisconnects && _mqtt.IsConnected)
                {
                    // The broker may have restarted and lost its retained messages: publish the manifests again.
                    _seenDisconnects = _mqtt.Disconnects;
                    _reconnects++;
                    lock (_gate)
                    {
                        _manifestGroups.Clear();
                        _manifestSentAt.Clear();
                        _settling = true;
                        _reportedSinceReconnect.Clear();
                    }
                    _settleStart = _time.GetTimestamp();
                    _treeTables.Clear(); // and the relay-tree tables
                    _treesLost = true;
                }
                bool worked = false;
                bool expired;
                lock (_gate) expired = _awaitingReport.Values.Any(since => _time.GetElapsedTime(since) >= _options.ReconnectSettle);
                if (expired) OnMembership(_destinations.Members);
                // Link down: nothing planned (an order that cannot go out would only time out and go again later).
                bool hold = !_mqtt.IsConnected || Settling();
                if (!hold) SkipHeldIfLearned();
                try
                {
                if (_mqtt.IsConnected)
                {
                    await PublishRelayTreesAsync(ct);
                    await PublishManifestsAsync(ct);
                }
                bool withdrew = false;
                foreach (SendOrder order in hold || _paused || _options.Strategy != RolloutStrategy.IotOta ? Array.Empty<SendOrder>() : Scheduler.Plan())
                {
                    if (!Reachable(order))
                    {
                        // Its root or a relay went offline while the order waited for the uplink. The destination list
                        // knows already (its Changed event comes after the member lists are published, behind the uplink).
                        Scheduler.Withdraw(order);
                        if (!withdrew) OnMembership(_destinations.Members);
                        withdrew = true;
                        continue;
                    }
                    lock (_recent)
                    {
                        _recent.Enqueue(order);
                        if (_recent.Count > RecentOrderCapacity) _recent.Dequeue();
                    }
                    byte[] packet = _packetizer.Original(order.Index, order.Relays, order.Tree);
                    CountResent(order.Root.NodeId, order.Index, false);
                    _overheads.RegisterSend(order.Root.NodeId, order.Index);
                    foreach (var r in order.Relays) _overheads.RegisterSend(r.NodeId, order.Index);
                    foreach (var r in order.Deep) _overheads.RegisterSend(r.NodeId, order.Index);
                    await _mqtt.PublishAsync(Topics.DeviceIn(order.Root.NodeId), packet, qos: MqttQualityOfServiceLevel.AtMostOnce, ct: ct);
                    Interlocked.Add(ref _gatewayPayload, _packetizer.PayloadLength(order.Index));
                    Interlocked.Increment(ref _originals);
                    Interlocked.Add(ref _relays, order.Relays.Count);
                    worked = true;
                }
                if (_baseline != null)
                {
                    for (int n = 0; n < 64 && !hold && !_paused && _baseline.MoveNext(); n++)
                    {
                        var (topic, index) = _baseline.Current;
                        await _mqtt.PublishAsync(topic, _packetizer.RepairCopy(index), qos: MqttQualityOfServiceLevel.AtMostOnce, ct: ct);
                        Interlocked.Add(ref _gatewayPayload, _packetizer.PayloadLength(index));
                        Interlocked.Increment(ref _originals);
                        worked = true;
                    }
                }
                for (int n = 0; n < 64 && !hold && !_paused && DonorOrders.TryTake(out uint donor, out byte[] order); n++)
                {
                    await _mqtt.PublishAsync(Topics.DeviceIn(donor), order, qos: MqttQualityOfServiceLevel.AtMostOnce, ct: ct);
                    worked = true;
                }
                for (int n = 0; n < 64 && !hold && !_paused && _repairs.TryDequeue(out var rep); n++)
                {
                    _repairPending.TryRemove(rep, out _);
                    var dev = _registry.Get(rep.Node);
                    if (dev == null || !dev.Online || IsUpdated(dev)) continue;
                    // it asked a while ago; its peers may have given it the packet since
                    if (_options.Held is { } knows && knows(rep.Node, rep.Index)) continue;
                    CountResent(rep.Node, rep.Index, true);
                    await _mqtt.PublishAsync(Topics.DeviceIn(rep.Node), _packetizer.RepairCopy(rep.Index), qos: MqttQualityOfServiceLevel.AtMostOnce, ct: ct);
                    Interlocked.Add(ref _gatewayPayload, _packetizer.PayloadLength(rep.Index));
                    Interlocked.Increment(ref _repairCopies);
                    worked = true;
                }
                }
                catch (Exception e) when (e is MQTTnet.Exceptions.MqttCommunicationException || (e is not OperationCanceledException && !_mqtt.IsConnected))
                {
                    // The link is down (broker restart; a reset may surface before the client marks itself
                    // disconnected): what was not sent is planned again when its deadline passes.
                    await Task.Delay(50, ct);
                }
                if (_time.GetElapsedTime(lastProgress) >= _options.ProgressInterval)
                {
                    lastProgress = _time.GetTimestamp();
                    progress?.Report(Snapshot());
                }
                if (_deliveredAt == 0 && Scheduler.AllDelivered) _deliveredAt = _time.GetTimestamp();
                if (CheckHealth())
                {
                    phasePassed = true;
                    break;
                }
                if (Finished())
                {
                    // Every target is done or failed: read the gate now, not up to 100 ms late.
                    _lastHealthCheck = 0;
                    if (CheckHealth())
                    {
                        phasePassed = true;
                        break;
                    }
                    // Paused by the health gate: the operator decides (resume acknowledges the failures, or abort).
                    if (_pauseReason == null) break;
                }
                if (_time.GetElapsedTime(_startTimestamp) - PausedTime() > (_options.Window ?? _options.Timeout))
                {
                    timedOut = true;
                    break;
                }
                if (!worked) await _wake.WaitAsync(TimeSpan.FromMilliseconds(20), ct);
            }
            var final = Snapshot();
            progress?.Report(final);
            HashSet<uint> targets;
            lock (_gate) targets = new HashSet<uint>(_targets);
            var records = _registry.All().Where(d => targets.Contains(d.NodeId)).ToList();
            _lastHealthCheck = 0;
            CheckHealth();
            var pending = records.Where(IsPending).Select(d => new PendingDevice(d.NodeId, d.GroupId, d.LastSeen,
                _options.Held is { } h ? Enumerable.Range(0, _image.ChunkCount).Count(k => h(d.NodeId, k)) : 0)).ToList();
            var failed = records.Where(d => !IsUpdated(d) && !IsPending(d)).Select(d => d.NodeId).ToList();
            return new RolloutResult
            {
                Devices = records.Count,
                Updated = records.Count(IsUpdated),
                Failed = failed.Count,
                ImageBytes = _image.Bytes.Length,
                GatewayPayloadBytes = GatewayPayloadBytes,
                OriginalsSent = Interlocked.Read(ref _originals),
                RelaysNamed = Interlocked.Read(ref _relays),
                RepairCopiesSent = Interlocked.Read(ref _repairCopies),
                Reallocations = Scheduler.Reallocations,
                Seconds = _time.GetElapsedTime(_startTimestamp).TotalSeconds,
                DeliveredSeconds = _deliveredAt == 0 ? null : _time.GetElapsedTime(_startTimestamp, _deliveredAt).TotalSeconds,
                TimedOut = timedOut,
                FailedDevices = failed,
                PendingDevices = pending,
                ResentBytes = ResentBytes,
                ResentRepairBytes = ResentRepairBytes,
                DeliveriesSkipped = Interlocked.Read(ref _skipped),
                DonorOrdersSent = DonorOrders.Sent,
                PacketsDelegated = DonorOrders.PacketsDelegated,
                Reconnects = _reconnects,
                PhasePassed = phasePassed,
                Health = _verdict,
            };
        }
        catch (OperationCanceledException)
        {
            if (!Shutdown.IsCancellationRequested)
            {
                // Not inline on the thread that cancelled (an API request holding its rollout's lock), and bounded:
                // an abort must end even when the broker does not acknowledge.
                await Task.Yield();
                using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await ClearManifestsAsync(bound.Token);
            }
            throw;
        }
        finally
        {
            _destinations.Changed -= OnMembership;
        }
    }

    private TimeSpan PausedTime()
    {
        lock (_gate)
        {
            long ticks = _pausedTicks + (_paused ? _time.GetTimestamp() - _pausedSince : 0);
            return TimeSpan.FromSeconds((double)ticks / _time.TimestampFrequency);
        }
    }

    /// <summary>Every target that is online runs the new version or has failed; offline ones do not hold us up once
    /// they have been gone for <see cref="RolloutOptions.OfflineWait"/>.</summary>
    private bool Finished()
    {
        HashSet<uint> targets;
        lock (_gate) targets = new HashSet<uint>(_targets);
        if (targets.Count == 0) return false;
        foreach (uint t in targets)
        {
            var d = _registry.Get(t);
            if (d == null) return false;
            // An offline target holds the rollout up for OfflineWait after it was last heard of (a partition heals,
            // a device reboots), then no longer.
            if (!d.Online)
            {
                if (IsPending(d)) return false; // within the window it holds the rollout open until it returns
                if (_time.GetUtcNow() - d.LastSeen < _options.OfflineWait) return false;
                continue;
            }
            if (IsUpdated(d) || d.State == DeviceState.Failed || _options.Health?.HasFailed(t) == true) continue;
            if (d.State == DeviceState.RolledBack && (d.ImageId == _image.ImageId || d.ImageId == 0 && _participants.Contains(t))) continue;
            return false;
        }
        return true;
    }
}
