namespace IotOta.Gateway.Rollouts;

/// <summary>What survives of a rollout: the operator's request and where it stood. Stored as JSON (one row per
/// rollout), so a field added later is simply absent from rows written before it: <see cref="WindowSeconds"/> then
/// loads as the default window (24 h, what such a rollout ran with) and <see cref="WindowEndsAt"/> as not yet set.</summary>
/// <param name="WindowSeconds">the rollout's window (<see cref="CreateRolloutRequest.WindowSeconds"/>)</param>
/// <param name="WindowEndsAt">when the window ends (pending devices stop being waited for): set when the last phase
/// starts, moved back by the time the rollout was paused; null before</param>
/// <param name="PausedAt">since when the rollout is paused (null while not paused)</param>
public sealed record PersistedRollout(string Id, string ImageId, string Version, IReadOnlyList<int> Groups, int CanaryGroups, int MaxFailures,
    int TimeoutSeconds, DateTimeOffset CreatedAt, string State, DateTimeOffset? StartedAt, DateTimeOffset? EndedAt, string? Message,
    IReadOnlyList<IReadOnlyList<int>> Phases, int Phase, IReadOnlyList<uint> TargetDevices,
    int WindowSeconds = CreateRolloutDefaults.WindowSeconds, DateTimeOffset? WindowEndsAt = null, DateTimeOffset? PausedAt = null);
