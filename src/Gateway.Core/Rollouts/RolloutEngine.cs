using IotOta.Gateway.Fleet;
using IotOta.Gateway.Images;
using IotOta.Gateway.Node;
using IotOta.Gateway.Rollouts.Run;
using IotOta.Gateway.Scheduling;
using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Rollouts;

/// <summary>
/// Runs one rollout: a run loop over named collaborators (Rollouts/Run). It publishes the relay-tree tables
/// (<see cref="RelayTreePublisher"/>) and the signed manifest (<see cref="ManifestPublisher"/>), then keeps publishing
/// originals as the scheduler plans them (or, for a benchmark baseline, what the <see cref="IBaselineStrategy"/> yields),
/// registers their send times, takes receipt notices, answers repair requests (<see cref="RepairAnswers"/>), holds the
/// plan while devices report after a reconnect (<see cref="ReconnectSettling"/>), reads the health gate
/// (<see cref="RolloutHealth"/>), and ends when every target device runs the new version (or the timeout passes). With
/// a window (<see cref="RolloutOptions.Window"/>) offline targets are pending and hold it open until the window ends.
/// What it reports (snapshots, the result) is in RolloutEngine.Reports.cs.
/// </summary>
public sealed partial class RolloutEngine
{
    private const int RecentOrderCapacity = 64;
    private const int SendsPerPass = 64;
    private static readonly TimeSpan IdleWait = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan LinkDownWait = TimeSpan.FromMilliseconds(50);

    private readonly IBrokerPort _broker;
    private readonly DeviceRegistry _registry;
    private readonly DestinationList _destinations;
    private readonly OverheadTable _overheads;
    private readonly FirmwareImage _image;
    private readonly Packetizer _packetizer;
    private readonly RolloutOptions _options;
    private readonly TimeProvider _time;
    private readonly WakeSignal _wake;
    private readonly RolloutTargets _targets;
    private readonly RolloutCounters _counters = new();
    private readonly RolloutPause _pause;
    private readonly HeldSkipper _held;
    private readonly ReconnectSettling _settling;
    private readonly ManifestPublisher _manifests;
    private readonly RootPublisher? _roots;
    private readonly RelayTreePublisher _trees;
    private readonly RepairAnswers _repairs;
    private readonly BaselineStreams? _streams;
    private readonly RolloutHealth _health;
    private readonly Queue<SendOrder> _recent = new();
    private IEnumerator<(string Topic, int Index)>? _baseline;
    private int _seenDisconnects, _reconnects;
    private long _startTimestamp, _deliveredAt;

    public RolloutEngine(IBrokerPort broker, DeviceRegistry registry, DestinationList destinations, OverheadTable overheads,
        FirmwareImage image, RolloutOptions options, TimeProvider time)
    {
        _broker = broker;
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
        _wake = new WakeSignal(time);
        _targets = new RolloutTargets(options.Targets);
        _pause = new RolloutPause(time);
        _held = new HeldSkipper(options, Scheduler, destinations, _targets, _packetizer, _counters, time);
        _settling = new ReconnectSettling(options, registry, image, _targets, time);
        _manifests = new ManifestPublisher(broker, registry, image, options, _targets, time);
        _roots = options.Root != null ? new RootPublisher(broker, registry, destinations, image, options, _targets, time,
            options.PiecesDownTrees ? () => Scheduler.PieceForest : null) : null;
        _trees = new RelayTreePublisher(broker, Scheduler, image.ImageId, time,
            _roots == null ? null : () => Scheduler.TreesAhead || _roots.AllHeldAfter != null || _time.GetElapsedTime(_startTimestamp) >= RelayTreePublisher.ListWait,
            _roots == null ? null : registry); // v2: level-1 tables go as digests, the tables to one seed per group
        _streams = options.Baseline is { } baseline ? new BaselineStreams(baseline, registry, time) : null;
        _repairs = new RepairAnswers(broker, registry, destinations, Scheduler, image, _packetizer, options, _targets, _held, _counters, _streams);
        Scheduler.CrossGroupRescue = _repairs.OrderAcross; // an orphaned packet another group holds comes from there
        if (options.Baseline == null) Scheduler.KnownHeld = options.Held; // an orphaned packet a group mate holds ends there
        _health = new RolloutHealth(options, registry, image, _targets, time);
    }

    public RolloutScheduler Scheduler { get; }
    /// <summary>Repair requests handed to donors of the requester's group (Scheduling/DonorSelector).</summary>
    public DonorOrders DonorOrders => _repairs.Donors;
    /// <summary>The devices this run works on: those on the destination list it admitted (late joiners too) and, with a
    /// window, those known offline at its start.</summary>
    public IReadOnlyCollection<uint> TargetNodes() => _targets.Nodes();
    /// <summary>With a window: whether the device is pending (offline, neither updated nor failed).</summary>
    public bool IsPending(DeviceRecord d) => _health.IsPending(d);
    public FirmwareImage Image => _image;
    public RolloutOptions Options => _options;
    public long GatewayPayloadBytes => _counters.GatewayPayloadBytes;
    /// <summary>Payload bytes sent to devices for packets they were known to hold.</summary>
    public long ResentBytes => _counters.ResentBytes;
    /// <summary>Payload bytes of repair copies among <see cref="ResentBytes"/>.</summary>
    public long ResentRepairBytes => _counters.ResentRepairBytes;
    /// <summary>Why the engine paused itself (the health gate's failure threshold); null when running or paused by the operator.</summary>
    public string? PauseReason => _pause.Reason;
    public HealthVerdict? Health => _health.Verdict;
    /// <summary>Cancelled when the gateway node itself goes away (not an operator's abort): the retained manifests stay,
    /// as they would when the process is killed, so that a restarted gateway resumes the rollout.</summary>
    internal CancellationToken Shutdown { get; set; }

    /// <summary>Stops sending originals and repair copies until <see cref="Resume"/>; time paused does not count
    /// toward the timeout. Returns false when already paused.</summary>
    public bool Pause()
    {
        if (!_pause.Pause()) return false;
        _wake.Set();
        return true;
    }

    /// <summary>Sends again after <see cref="Pause"/>. Returns false when not paused.</summary>
    public bool Resume()
    {
        if (!_pause.Resume()) return false;
        _options.Health?.Acknowledge(); // the operator saw the failures so far: only new ones count against the threshold
        _wake.Set();
        return true;
    }

    /// <summary>The latest send orders (newest last), at most 64: who got each original and which relays it named.</summary>
    public IReadOnlyList<SendOrder> RecentOrders()
    {
        lock (_recent) return _recent.ToList();
    }

    /// <summary>The node told the gateway what it holds (a progress report or a repair request).</summary>
    public void OnHeldReport(uint node)
    {
        Scheduler.OnReport(node); // orphaned deliveries wait for their group's reports (RolloutScheduler.OrphanSettling)
        if (_settling.Reported(node)) OnMembership(_destinations.Members);
        _wake.Set();
    }

    public void OnNotice(ReceiptNotice n)
    {
        if (n.ImageId != _image.ImageId) return;
        _overheads.RegisterNotice(n, _image.Manifest.ChunkLength(Math.Min(n.Index, _image.ChunkCount - 1)));
        Scheduler.OnNotice(n.NodeId, n.Index);
        _wake.Set();
    }

    /// <summary>Protocol v2: a device asks the gateway (last) for hash-list pieces, or for its group's relay-tree table
    /// (it holds the table's digest but not the table).</summary>
    public void OnPieceRequest(PieceRequest r)
    {
        if (r.What == PieceRequest.WhatRelayTable) _trees.OnRequest(r);
        else _roots?.OnRequest(r);
        _wake.Set();
    }

    public void OnRepairRequest(RepairRequest r)
    {
        _repairs.OnRequest(r);
        _wake.Set();
    }

    private void OnMembership(IReadOnlyList<FleetMember> members)
    {
        Scheduler.UpdateRings(members); // the lists as the devices hold them: copy trees are laid over these
        members = _targets.Admit(members);
        _streams?.Members(members);
        IReadOnlyList<FleetMember> live = _settling.WithoutAwaiting(members);
        // The published lists are paced (MemberListPacing); the registry knows at once who went offline: such a
        // device is no root or relay even before its group's new list goes out.
        live = live.Where(m => _registry.Get(m.NodeId) is not { Online: false }).ToList();
        // A device that failed (rolled back, silent) refuses the image: it is no root or relay for anyone.
        if (_options.Health != null) live = live.Where(m => !_health.HasFailed(m.NodeId)).ToList();
        // Protocol v2: no device takes data before every one holds the hash list; the relay trees are laid over those
        // that will meanwhile, so their tables spread with the list instead of after it.
        IReadOnlyList<FleetMember> expected = live;
        if (_roots != null) live = _roots.Holding(live);
        Scheduler.UpdateFleet(live, expected);
        _held.Skip(live);
        Scheduler.ReleaseReturned(); // what a device that came back holds was skipped; the rest of its work goes again
        _targets.Add(members);
        _wake.Set();
    }

    public async Task<RolloutResult> RunAsync(IProgress<RolloutSnapshot>? progress, CancellationToken ct)
    {
        _startTimestamp = _time.GetTimestamp();
        _targets.AddKnown(_registry.All(), offlineToo: _options.Window != null);
        OnMembership(_destinations.Members);
        _destinations.Changed += OnMembership;
        try
        {
            // The signed root and the hash list go first, then the relay-tree tables: on protocol v2 no data moves before
            // every device holds the list, and the tables (laid over the devices that will take data) reach them while
            // it spreads; at N = 1,000 in 63 groups ~180 KB of them through the broker's uplink would hold the list's
            // seeds back by over a second. On v1 a device gets its MQTT messages in publish order and takes no packet
            // before its manifest, so a relay holds its group's table before the first tree relay copy (sent over TCP,
            // which can overtake MQTT) can reach it. A table is used only with the manifest of its image, and a tree
            // relay copy that comes before its table is owed until it does.
            if (_roots != null)
            {
                // With RolloutOptions.PiecesDownTrees and every table a level-1 one (at most 21 groups) the tables go
                // first: a digest to each group and the table to its seed (~7 KB at 100 devices in 10 groups), and the
                // pieces then go down the trees, one original each, instead of one per 9 groups (RootPublisher,
                // RolloutScheduler.PieceForest).
                if (_options.PiecesDownTrees && Scheduler.LevelOneTablesOnly) await _trees.PublishAsync(ct);
                await PublishSignedAsync(ct);
                await _trees.PublishAsync(ct);
            }
            else
            {
                await _trees.PublishAsync(ct);
                await PublishSignedAsync(ct);
            }
            if (_options.Baseline is { } baseline) _baseline = baseline.Sends(_targets.Admit(_destinations.Members), _image.ChunkCount).GetEnumerator();
            var end = await LoopAsync(progress, ct);
            return Result(progress, end);
        }
        catch (OperationCanceledException)
        {
            if (!Shutdown.IsCancellationRequested)
            {
                // Not inline on the thread that cancelled (an API request holding its rollout's lock), and bounded:
                // an abort must end even when the broker does not acknowledge.
                await Task.Yield();
                using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(2), _time);
                await (_roots?.ClearAsync(bound.Token) ?? _manifests.ClearAsync(bound.Token));
            }
            throw;
        }
        finally
        {
            _destinations.Changed -= OnMembership;
        }
    }

    private enum RunEnd { Finished, PhasePassed, TimedOut }

    /// <summary>The run loop: one pass publishes what is due, then reads progress, health, completion and the timeout,
    /// and waits (for a notice, a report, a repair request or 20 ms) when nothing went out.</summary>
    private async Task<RunEnd> LoopAsync(IProgress<RolloutSnapshot>? progress, CancellationToken ct)
    {
        long lastProgress = 0;
        _seenDisconnects = _broker.Disconnects;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            bool worked = await PassAsync(ct);
            if (_time.GetElapsedTime(lastProgress) >= _options.ProgressInterval)
            {
                lastProgress = _time.GetTimestamp();
                progress?.Report(Snapshot());
            }
            // Before the plan has a group (v2: until devices hold the hash list) nothing is owed, which is not "all delivered".
            if (_deliveredAt == 0 && Scheduler.Progress is { Total: > 0 } owed && owed.Done == owed.Total) _deliveredAt = _time.GetTimestamp();
            if (CheckHealth()) return RunEnd.PhasePassed;
            if (_health.Finished())
            {
                // Every target done: silent relays still settling had their copies (RolloutScheduler.SilentRelays).
                if (_deliveredAt == 0 && Scheduler.OnlySettlingLeft()) _deliveredAt = _time.GetTimestamp();
                // Every target is done or failed: read the gate now, not up to 100 ms late.
                if (CheckHealth(force: true)) return RunEnd.PhasePassed;
                // Paused by the health gate: the operator decides (resume acknowledges the failures, or abort).
                if (_pause.Reason == null) return RunEnd.Finished;
            }
            if (OutOfTime(_time.GetElapsedTime(_startTimestamp) - _pause.Total())) return RunEnd.TimedOut;
            if (!worked) await _wake.WaitAsync(IdleWait, ct);
        }
    }

    /// <summary>One pass: notices a reconnect, publishes tables and manifests, then originals (or baseline copies) and
    /// repair copies unless paused, the link is down or the plan holds for reports. True when something went out.</summary>
    private async Task<bool> PassAsync(CancellationToken ct)
    {
        if (_broker.Disconnects != _seenDisconnects && _broker.IsConnected)
        {
            // The broker may have restarted and lost its retained messages: publish manifests and tables again.
            _seenDisconnects = _broker.Disconnects;
            _reconnects++;
            _manifests.Forget();
            _roots?.Forget();
            _settling.LinkBack();
            _trees.Forget();
        }
        if (_settling.AnyExpired() || _roots?.Changed() == true) OnMembership(_destinations.Members);
        // Link down: nothing planned (an order that cannot go out would only time out and go again later).
        bool hold = !_broker.IsConnected || Holding();
        if (!hold) _held.IfLearned();
        bool send = !hold && !_pause.IsPaused;
        bool worked = false;
        try
        {
            if (_broker.IsConnected)
            {
                await _trees.PublishAsync(ct);
                await PublishSignedAsync(ct);
                if (_roots != null) worked |= await _roots.SendAsync(ct);
                worked |= await _trees.AnswerAsync(ct);
            }
            if (send && _options.Baseline == null) worked |= await SendOriginalsAsync(ct);
            if (send && _baseline != null) worked |= await SendBaselineAsync(ct);
            if (send) worked |= await _repairs.SendAsync(SendsPerPass, ct);
        }
        catch (Exception e) when (e is BrokerLinkException || (e is not OperationCanceledException && !_broker.IsConnected))
        {
            // The link is down (broker restart; a reset may surface before the client marks itself
            // disconnected): what was not sent is planned again when its deadline passes.
            await Task.Delay(LinkDownWait, _time, ct);
        }
        return worked;
    }

    /// <summary>The signed description of the image: the v2 root and hash pieces, or the v1 manifest.</summary>
    private Task PublishSignedAsync(CancellationToken ct) => _roots?.PublishAsync(ct) ?? _manifests.PublishAsync(ct);

    private bool Holding()
    {
        if (_settling.Holding(out bool ended)) return true;
        if (ended) _held.Now();
        return false;
    }

    private async Task<bool> SendOriginalsAsync(CancellationToken ct)
    {
        bool worked = false;
        bool withdrew = false;
        foreach (SendOrder order in Scheduler.Plan())
        {
            if (!Reachable(order))
            {
                // Its root or a relay went offline while the order waited for the uplink: planned again with live
                // devices. The destination list knows already (its Changed event comes after the member lists are
                // published, behind the uplink).
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
            byte[] packet = _packetizer.Original(order.Index, order.Relays, order.Tree, order.SilentRelays, order.SilentTree);
            _held.CountResent(order.Root.NodeId, order.Index, false);
            _overheads.RegisterSend(order.Root.NodeId, order.Index);
            // A silent relay's send is not registered: no notice would take it out (a first unit's measures the rate
            // without it).
            foreach (var r in order.NoticingRelays) _overheads.RegisterSend(r.NodeId, order.Index);
            await _broker.PublishAsync(Topics.DeviceIn(order.Root.NodeId), packet, qos: BrokerQos.AtMostOnce, ct: ct);
            _counters.Original(_packetizer.PayloadLength(order.Index), order.Relays.Count);
            worked = true;
        }
        return worked;
    }

    /// <summary>The run is over its time: past the window, or past the timeout with no target pending (the timeout
    /// bounds the online devices' progress; the window how long offline ones are waited for).</summary>
    private bool OutOfTime(TimeSpan elapsed)
    {
        if (_options.Window is not { } window) return elapsed > _options.Timeout;
        if (elapsed > window) return true;
        return elapsed > _options.Timeout && !_targets.Nodes().Any(n => _registry.Get(n) is { } d && _health.IsPending(d));
    }

    private bool Reachable(SendOrder order) =>
        _registry.Get(order.Root.NodeId) is not { Online: false } && order.Relays.All(r => _registry.Get(r.NodeId) is not { Online: false });

    private async Task<bool> SendBaselineAsync(CancellationToken ct)
    {
        bool worked = false;
        for (int n = 0; n < SendsPerPass && _baseline!.MoveNext(); n++)
        {
            var (topic, index) = _baseline.Current;
            byte[] packet = _packetizer.RepairCopy(index);
            await _broker.PublishAsync(topic, packet, qos: BrokerQos.AtMostOnce, ct: ct);
            _streams!.Sent(topic, index);
            await _options.Baseline!.PaceAsync(topic, packet.Length, ct);
            _counters.Original(_packetizer.PayloadLength(index), 0);
            worked = true;
        }
        return worked;
    }

    /// <summary>Reads the health gate: pauses the rollout when failures pass the threshold; true when the phase passed
    /// and the run should hand over to the next phase.</summary>
    private bool CheckHealth(bool force = false)
    {
        var before = _health.Verdict;
        if (_health.Read(force) is not { } v) return false;
        if (v.FailedTotal != (before?.FailedTotal ?? 0)) OnMembership(_destinations.Members);
        if (v.Pause && !_pause.IsPaused && _pause.Pause("paused by the health gate: " + v.Reason)) _wake.Set();
        return _options.EndWhenPhasePassed && v.PhasePassed && !_pause.IsPaused;
    }
}
