using System.Text.Json.Serialization;

namespace IotOta.Gateway.Rollouts;

/// <summary>Where a rollout stands as the operator sees it.</summary>
public static class RolloutStates
{
    public const string Created = "created", Running = "running", Paused = "paused", Completed = "completed", Failed = "failed", Aborted = "aborted";
    /// <summary>The window ended with target devices still offline (pending) and no more failures than allowed.</summary>
    public const string EndedWithPending = "ended-with-pending";
    public static bool IsActive(string s) => s is Running or Paused;
    public static bool IsTerminal(string s) => s is Completed or Failed or Aborted or EndedWithPending;
}

/// <summary>What the operator asks for: an image, the target groups (null or empty = all), the phases — one canary kind
/// (<see cref="CanaryGroups"/> first target groups, <see cref="CanaryDevices"/> named devices, or <see cref="CanaryCount"/>
/// devices spread over the groups), then cumulative <see cref="Percentages"/> of the fleet (e.g. 10, 50, 100; none = the
/// rest at once) — and the health policy: a phase hands over when <see cref="SuccessThreshold"/> of its devices run the
/// new image; more than <see cref="MaxFailures"/> failed devices (failed, rolled back, or silent
/// <see cref="InstallTimeoutSeconds"/> after getting the whole image) pause the rollout.</summary>
public sealed record CreateRolloutRequest(string ImageId, IReadOnlyList<int>? Groups = null, int CanaryGroups = 0, int MaxFailures = 0,
    int TimeoutSeconds = 600, IReadOnlyList<uint>? CanaryDevices = null, int CanaryCount = 0, IReadOnlyList<int>? Percentages = null,
    double SuccessThreshold = 1.0, int InstallTimeoutSeconds = 300, int WindowSeconds = CreateRolloutDefaults.WindowSeconds);

/// <summary>Defaults and limits of <see cref="CreateRolloutRequest"/>.</summary>
public static class CreateRolloutDefaults
{
    /// <summary>The rollout window: 24 h. Within it, offline target devices are pending (not failed) and devices that
    /// join a targeted group are added; its last phase runs until every target is updated or failed, or it ends.</summary>
    public const int WindowSeconds = 86_400;
    public const int MaxWindowSeconds = 30 * 86_400;
}

/// <summary>A rollout and its run-time state. Mutable; guarded by its own lock.</summary>
public sealed class Rollout
{
    internal readonly object Gate = new();

    public required string Id { get; init; }
    public required string ImageId { get; init; }
    public required string Version { get; init; }
    /// <summary>Target groups; empty = every group online when it starts.</summary>
    public required IReadOnlyList<int> Groups { get; init; }
    public int CanaryGroups { get; init; }
    public int MaxFailures { get; init; }
    public int TimeoutSeconds { get; init; }
    public IReadOnlyList<uint> CanaryDevices { get; init; } = Array.Empty<uint>();
    public int CanaryCount { get; init; }
    public IReadOnlyList<int> Percentages { get; init; } = Array.Empty<int>();
    public double SuccessThreshold { get; init; } = 1.0;
    public int InstallTimeoutSeconds { get; init; } = 300;
    /// <summary>The window (<see cref="CreateRolloutRequest.WindowSeconds"/>); kept in the durable store, so a rollout
    /// resumed after a gateway restart keeps it.</summary>
    public int WindowSeconds { get; init; } = CreateRolloutDefaults.WindowSeconds;
    /// <summary>When the window ends — the deadline of pending devices: set when the last phase starts (now +
    /// <see cref="WindowSeconds"/>), moved back by the time the rollout then spends paused; null before. Kept in the
    /// durable store: a resumed rollout runs its last phase until this instant, not a new window.</summary>
    public DateTimeOffset? WindowEndsAt { get; internal set; }
    /// <summary>Since when the rollout is paused (null while not paused): a pause in the window moves its end.</summary>
    public DateTimeOffset? PausedAt { get; internal set; }
    public DateTimeOffset CreatedAt { get; init; }
    public string State { get; internal set; } = RolloutStates.Created;
    public DateTimeOffset? StartedAt { get; internal set; }
    public DateTimeOffset? EndedAt { get; internal set; }
    public string? Message { get; internal set; }
    /// <summary>Groups of each phase once started (canary first, then the rest).</summary>
    public IReadOnlyList<IReadOnlyList<int>> Phases { get; internal set; } = Array.Empty<IReadOnlyList<int>>();
    public int Phase { get; internal set; }
    public IReadOnlyList<uint> TargetDevices { get; internal set; } = Array.Empty<uint>();
    /// <summary>The devices each phase adds, once started (<see cref="Phases"/> holds their groups). Kept in memory
    /// only: a rollout resumed after a gateway restart runs on by the groups of <see cref="Phases"/>.</summary>
    public IReadOnlyList<RolloutPhase> PhasePlan { get; internal set; } = Array.Empty<RolloutPhase>();
    /// <summary>The health gate's last reading (success per phase, failed and silent devices, why it paused).</summary>
    public HealthVerdict? Health { get; internal set; }

    [JsonIgnore] internal HealthGate? HealthGate { get; set; }
    /// <summary>Targets offline and not updated when the last phase ended (its window's end).</summary>
    [JsonIgnore] public IReadOnlyList<PendingDevice> PendingDevices { get; internal set; } = Array.Empty<PendingDevice>();

    [JsonIgnore] internal CancellationTokenSource? Cts { get; set; }
    [JsonIgnore] internal RolloutEngine? Engine { get; set; }
    /// <summary>The campaign running this rollout (null before it started, and for a stored one not resumed).</summary>
    [JsonIgnore] internal RolloutCampaign? Campaign { get; set; }
    [JsonIgnore] internal Task? Runner { get; set; }
    [JsonIgnore] internal long PayloadOfEndedPhases { get; set; }
    [JsonIgnore] internal RolloutSnapshot? LastSnapshot { get; set; }
    /// <summary>The send orders of the last phase that ran, kept for the views after it ended.</summary>
    [JsonIgnore] internal IReadOnlyList<IotOta.Gateway.Scheduling.SendOrder> LastOrders { get; set; } = Array.Empty<IotOta.Gateway.Scheduling.SendOrder>();
    [JsonIgnore] internal List<RolloutResult> Results { get; } = new();
    /// <summary>How each phase that ran in this process ended (fault suite, tests).</summary>
    [JsonIgnore] public IReadOnlyList<RolloutResult> PhaseResults
    {
        get { lock (Gate) return Results.ToList(); }
    }

    /// <summary>What is written to the durable store.</summary>
    public PersistedRollout ToPersisted()
    {
        lock (Gate)
            return new(Id, ImageId, Version, Groups, CanaryGroups, MaxFailures, TimeoutSeconds, CreatedAt, State, StartedAt, EndedAt, Message,
                Phases, Phase, TargetDevices, WindowSeconds, WindowEndsAt, PausedAt);
    }

    public static Rollout FromPersisted(PersistedRollout p) => new()
    {
        Id = p.Id,
        ImageId = p.ImageId,
        Version = p.Version,
        Groups = p.Groups,
        CanaryGroups = p.CanaryGroups,
        MaxFailures = p.MaxFailures,
        TimeoutSeconds = p.TimeoutSeconds,
        CreatedAt = p.CreatedAt,
        State = p.State,
        StartedAt = p.StartedAt,
        EndedAt = p.EndedAt,
        Message = p.Message,
        Phases = p.Phases,
        Phase = p.Phase,
        TargetDevices = p.TargetDevices,
        WindowSeconds = p.WindowSeconds,
        WindowEndsAt = p.WindowEndsAt,
        PausedAt = p.PausedAt,
    };
}
