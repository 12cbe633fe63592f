using IotOta.Gateway.Images;

namespace IotOta.Gateway.Rollouts;

/// <summary>
/// One rollout as the operator runs it: its phases (canary, then percentages or the rest) one after the other through
/// <see cref="GatewayNode.RunRolloutAsync"/>, each ending at the health gate's success threshold or the timeout; pause,
/// resume and abort; and its state (<see cref="Rollout"/>) written to the store at every change. The engine of the
/// running phase is attached when it starts (no polling), so pause, resume and the views reach it.
/// </summary>
public sealed class RolloutCampaign
{
    private readonly Rollout _r;
    private readonly FirmwareImage _image;
    private readonly GatewayNode _gateway;
    private readonly IRolloutStore _store;
    private readonly RolloutCampaignOptions _options;

    public RolloutCampaign(Rollout rollout, FirmwareImage image, GatewayNode gateway, IRolloutStore store, RolloutCampaignOptions options)
    {
        _r = rollout;
        _image = image;
        _gateway = gateway;
        _store = store;
        _options = options;
    }

    /// <summary>Starts the first phase: the rollout runs on the given phases (their groups and, when planned by device,
    /// the plan) and target devices.</summary>
    public void Start(IReadOnlyList<IReadOnlyList<int>> phases, IReadOnlyList<RolloutPhase> plan, IReadOnlyList<uint> targetDevices)
    {
        lock (_r.Gate)
        {
            _r.Phases = phases;
            _r.PhasePlan = plan;
            _r.TargetDevices = targetDevices;
            _r.State = RolloutStates.Running;
            _r.StartedAt = _options.Time.GetUtcNow();
            _r.Cts = new CancellationTokenSource();
            _r.Campaign = this;
        }
        _store.Update(_r);
        var ct = _r.Cts.Token;
        _r.Runner = Task.Run(() => RunAsync(ct));
    }

    /// <summary>After a gateway restart: runs on from the phase the stored rollout was in (its first phase answers
    /// fewer repairs: see <see cref="RolloutCampaignOptions.ResumedPhaseRepairReplies"/>).</summary>
    public void Resume(int phase)
    {
        CancellationToken ct;
        lock (_r.Gate)
        {
            _r.Cts = new CancellationTokenSource();
            _r.Campaign = this;
            ct = _r.Cts.Token;
            _r.Runner = Task.Run(() => RunAsync(ct, phase, resumed: true));
        }
    }

    /// <summary>Pauses a running rollout (and its engine); false when it is not running.</summary>
    public bool Pause()
    {
        lock (_r.Gate)
        {
            if (_r.State != RolloutStates.Running) return false;
            _r.State = RolloutStates.Paused;
            _r.PausedAt = _options.Time.GetUtcNow();
            _r.Engine?.Pause();
        }
        _store.Update(_r);
        return true;
    }

    /// <summary>Resumes a paused rollout; false when it is not paused. Failures the health gate paused on count as
    /// acknowledged by the operator.</summary>
    public bool Resume()
    {
        lock (_r.Gate)
        {
            if (_r.State != RolloutStates.Paused) return false;
            _r.State = RolloutStates.Running;
            WindowDeadline.Unpause(_r, _options.Time.GetUtcNow());
            if (_r.Message != null && _r.Message.StartsWith("paused by the health gate", StringComparison.Ordinal)) _r.Message = "resumed by the operator after: " + _r.Message;
            _r.Engine?.Resume();
        }
        _store.Update(_r);
        return true;
    }

    /// <summary>Aborts: the running phase stops and takes its retained manifests back; the rollout ends as aborted.</summary>
    public void Abort()
    {
        lock (_r.Gate)
        {
            _r.Message = "aborted by the operator";
            _r.Cts?.Cancel();
        }
    }

    private async Task RunAsync(CancellationToken ct, int firstPhase = 0, bool resumed = false)
    {
        try
        {
            var gate = _r.HealthGate ??= new HealthGate(new HealthPolicy(_r.SuccessThreshold, _r.MaxFailures, TimeSpan.FromSeconds(_r.InstallTimeoutSeconds)),
                _options.Time);
            for (int p = firstPhase; p < _r.Phases.Count; p++)
            {
                lock (_r.Gate)
                {
                    _r.Phase = p;
                    if (p == _r.Phases.Count - 1) WindowDeadline.Open(_r, _options.Time.GetUtcNow());
                }
                _store.Update(_r);
                var result = await RunPhaseAsync(p, gate, resumed && p == firstPhase, ct);
                if (Verdict(p, result) is { } failure)
                {
                    End(RolloutStates.Failed, failure);
                    return;
                }
                if (p == _r.Phases.Count - 1 && result.Pending > 0)
                {
                    End(RolloutStates.EndedWithPending, PendingMessage(result));
                    return;
                }
            }
            End(RolloutStates.Completed, null);
        }
        catch (OperationCanceledException)
        {
            End(RolloutStates.Aborted, "aborted by the operator");
        }
        catch (Exception e)
        {
            _options.Log?.Invoke($"rollout {_r.Id} failed: {e.Message}");
            End(RolloutStates.Failed, e.Message);
        }
    }

    private async Task<RolloutResult> RunPhaseAsync(int p, HealthGate gate, bool resumedPhase, CancellationToken ct)
    {
        var plan = _r.PhasePlan;
        bool last = p == _r.Phases.Count - 1;
        var rolloutGroups = (_r.Groups.Count > 0 ? _r.Groups : _r.Phases.SelectMany(x => x)).ToHashSet();
        Func<uint, int, bool> targets;
        IReadOnlyList<uint> phaseDevices;
        if (plan.Count == _r.Phases.Count)
        {
            // Device phases: this phase's devices and every earlier phase's (stragglers go on); the last phase
            // of a plan reaching 100 % also takes devices of the target groups that appear later.
            var cumulative = plan.Take(p + 1).SelectMany(x => x.Devices).ToHashSet();
            bool late = plan[p].TakesLateJoiners;
            targets = (node, g) => cumulative.Contains(node) || (late && rolloutGroups.Contains(g));
            phaseDevices = plan[p].Devices;
        }
        else
        {
            // Resumed from the durable store (phases by group only).
            var upTo = _r.Phases.Take(p + 1).SelectMany(x => x).ToHashSet();
            targets = (_, g) => upTo.Contains(g);
            phaseDevices = _gateway.Registry.All().Where(d => _r.Phases[p].Contains(d.GroupId)).Select(d => d.NodeId).ToList();
        }
        TimeSpan? window;
        lock (_r.Gate) window = last ? WindowDeadline.Remaining(_r, _options.Time.GetUtcNow()) : null;
        var runOptions = new RolloutOptions
        {
            Timeout = TimeSpan.FromSeconds(_r.TimeoutSeconds),
            // The last phase runs in the rollout's window: offline targets are pending, late joiners are added.
            // A resumed rollout keeps its window's end (stored), not a new window.
            Window = window,
            Targets = targets,
            Scheduler = _options.Scheduler,
            Health = gate,
            PhaseDevices = phaseDevices,
            EndWhenPhasePassed = !last,
            // Phases that split groups need the manifest per device; a plain rollout keeps the retained group topics.
            ManifestPerDevice = _r.Phases.Count > 1,
            MaxRepairReplies = resumedPhase ? _options.ResumedPhaseRepairReplies : new RolloutOptions().MaxRepairReplies,
            Resumed = resumedPhase,
        };
        RolloutResult result = await _gateway.RunRolloutAsync(_image, runOptions, new PhaseProgress(_r, _store, _options.Time), ct, Attach);
        lock (_r.Gate)
        {
            if (_r.Engine != null) _r.LastOrders = _r.Engine.RecentOrders();
            if (_r.Engine != null) _r.TargetDevices = _r.TargetDevices.Union(_r.Engine.TargetNodes()).OrderBy(n => n).ToList(); // late joiners
            _r.PendingDevices = result.PendingDevices;
            _r.Results.Add(result);
            _r.PayloadOfEndedPhases += result.GatewayPayloadBytes;
            _r.Engine = null;
            if (result.Health != null) _r.Health = result.Health;
        }
        return result;
    }

    /// <summary>The phase's engine exists: pause, resume and the views reach it (a rollout paused meanwhile starts paused).</summary>
    private void Attach(RolloutEngine engine)
    {
        lock (_r.Gate)
        {
            _r.Engine = engine;
            if (_r.State == RolloutStates.Paused) engine.Pause();
        }
    }

    /// <summary>Why the rollout fails after phase p ended with result; null when it goes on.</summary>
    private string? Verdict(int p, RolloutResult result)
    {
        var plan = _r.PhasePlan;
        bool last = p == _r.Phases.Count - 1;
        string name = plan.Count == _r.Phases.Count ? $"phase {p + 1} of {_r.Phases.Count} ({plan[p].Name})" : $"phase {p + 1} of {_r.Phases.Count}";
        var h = result.Health;
        // The window ended with devices offline: they are pending, not failed (only failures count against the gate).
        bool windowEnded = last && result.TimedOut && result.Pending > 0;
        if (result.TimedOut && !windowEnded)
            return $"{name} timed out with {result.Updated}/{result.Devices} updated, {h?.FailedTotal ?? result.Failed} failed";
        if (!last && h != null && !result.PhasePassed)
            return $"{name} ended with {h.PhaseUpdated}/{h.PhaseDevices} of its devices updated, below the success threshold " +
                $"({h.RequiredUpdated} needed); {h.FailedTotal} failed";
        if (last && result.Failed > _r.MaxFailures + (h?.FailuresAcknowledged ?? 0))
            return $"{name} ended with {result.Updated}/{result.Devices} updated, {result.Failed} not updated" +
                (h is { FailedTotal: > 0 } ? $" ({h.FailedTotal} failed: {string.Join(", ", h.FailedDevices.Take(8))})" : "") + $"; the threshold is {_r.MaxFailures} failed";
        return null;
    }

    private static string PendingMessage(RolloutResult result) =>
        $"ended with {result.Pending} pending: " + string.Join(", ", result.PendingDevices.Take(8).Select(d => $"{d.NodeId} (offline since {d.LastSeen:u})"))
        + (result.Pending > 8 ? ", …" : "") + $"; {result.Updated}/{result.Devices} updated";

    /// <summary>Ends the rollout in a terminal state (a durable one keeps it).</summary>
    public static void End(Rollout r, IRolloutStore store, TimeProvider time, string state, string? message)
    {
        lock (r.Gate)
        {
            r.State = state;
            r.Message = message ?? r.Message;
            r.EndedAt = time.GetUtcNow();
            r.Engine = null;
        }
        store.Update(r);
    }

    private void End(string state, string? message) => End(_r, _store, _options.Time, state, message);

    /// <summary>Keeps the latest snapshot, and turns the engine pausing itself (health gate) into the rollout's state.</summary>
    private sealed class PhaseProgress(Rollout r, IRolloutStore store, TimeProvider time) : IProgress<RolloutSnapshot>
    {
        public void Report(RolloutSnapshot value)
        {
            bool paused = false;
            lock (r.Gate)
            {
                r.LastSnapshot = value;
                if (value.Health != null) r.Health = value.Health;
                if (value.PauseReason != null && r.State == RolloutStates.Running)
                {
                    r.State = RolloutStates.Paused;
                    r.PausedAt = time.GetUtcNow();
                    r.Message = value.PauseReason;
                    paused = true;
                }
            }
            if (paused) store.Update(r);
        }
    }
}
