namespace IotOta.Gateway.Persistence;

/// <summary>One line of the audit log: who (<see cref="Actor"/>, from which <see cref="Client"/> address) did what
/// (<see cref="Action"/>, e.g. rollout.abort) to which image or rollout (<see cref="Target"/>), when.</summary>
public sealed record AuditEntry(long Seq, DateTimeOffset At, string Actor, string Action, string? Target, string? Detail, string? Client);
