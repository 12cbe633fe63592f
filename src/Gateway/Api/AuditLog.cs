using IotOta.Gateway.Persistence;

namespace IotOta.Gateway.Api;

/// <summary>Who did what to which image or rollout, when: logins (and failed ones), logouts, uploads, deletions and
/// every rollout action. Kept in the database (<see cref="GatewayDatabase"/>) or, with in-memory storage, in memory.</summary>
public interface IAuditLog
{
    void Record(string actor, string action, string? target = null, string? detail = null, string? client = null);
    /// <summary>Newest first.</summary>
    IReadOnlyList<AuditEntry> List(int offset, int limit);
    long Count { get; }
}

public sealed class DatabaseAuditLog(GatewayDatabase db, TimeProvider time) : IAuditLog
{
    public void Record(string actor, string action, string? target = null, string? detail = null, string? client = null) =>
        db.AddAudit(new AuditEntry(0, time.GetUtcNow(), actor, action, target, detail, client));

    public IReadOnlyList<AuditEntry> List(int offset, int limit) => db.ListAudit(offset, limit);
    public long Count => db.CountAudit();
}

public sealed class InMemoryAuditLog(TimeProvider time) : IAuditLog
{
    private readonly List<AuditEntry> _entries = new();

    public void Record(string actor, string action, string? target = null, string? detail = null, string? client = null)
    {
        lock (_entries) _entries.Add(new AuditEntry(_entries.Count + 1, time.GetUtcNow(), actor, action, target, detail, client));
    }

    public IReadOnlyList<AuditEntry> List(int offset, int limit)
    {
        lock (_entries) return Enumerable.Reverse(_entries).Skip(offset).Take(limit).ToList();
    }

    public long Count
    {
        get { lock (_entries) return _entries.Count; }
    }
}
