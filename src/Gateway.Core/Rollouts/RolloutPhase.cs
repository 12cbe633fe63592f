namespace IotOta.Gateway.Rollouts;

/// <summary>One phase of a rollout: the devices it adds (earlier phases' devices stay targets), and whether it also
/// takes every device of the target groups that appears later (the last phase of a plan that reaches 100 %).</summary>
public sealed record RolloutPhase(string Name, IReadOnlyList<uint> Devices, bool TakesLateJoiners = false);
