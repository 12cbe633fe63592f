using IotOta.Gateway.Rollouts;

namespace IotOta.Gateway.Persistence;

/// <summary><see cref="IRolloutStore"/> on the gateway's database (SQLite or PostgreSQL): rollouts live in memory
/// while the gateway runs (they carry run-time state) and every change is written through; on open the stored ones
/// are loaded, and those that were running or paused come back as <see cref="RolloutStates.Running"/>/
/// <see cref="RolloutStates.Paused"/> for <see cref="RolloutManager.ResumeInterruptedAsync"/> to pick up.</summary>
public sealed class DatabaseRolloutStore : IRolloutStore
{
    private readonly GatewayDatabase _db;
    private readonly InMemoryRolloutStore _live = new();

    public DatabaseRolloutStore(GatewayDatabase db)
    {
        _db = db;
        foreach (var p in db.ListRollouts()) _live.Add(Rollout.FromPersisted(p));
    }

    public void Add(Rollout rollout)
    {
        _live.Add(rollout);
        _db.SaveRollout(rollout.ToPersisted());
    }

    public Rollout? Get(string id) => _live.Get(id);
    public IReadOnlyList<Rollout> List() => _live.List();
    public void Update(Rollout rollout) => _db.SaveRollout(rollout.ToPersisted());
}
