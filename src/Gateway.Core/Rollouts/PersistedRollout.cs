namespace IotOta.Gateway.Rollouts;

/// <summary>What survives of a rollout: the operator's request and where it stood.</summary>
public sealed record PersistedRollout(string Id, string ImageId, string Version, IReadOnlyList<int> Groups, int CanaryGroups, int MaxFailures,
    int TimeoutSeconds, DateTimeOffset CreatedAt, string State, DateTimeOffset? StartedAt, DateTimeOffset? EndedAt, string? Message,
    IReadOnlyList<IReadOnlyList<int>> Phases, int Phase, IReadOnlyList<uint> TargetDevices);
