using IotOta.Gateway.Rollouts;
using System.Collections.Concurrent;
using System.Text.Json;
using IotOta.Gateway.Persistence;

namespace IotOta.Gateway.Api;

/// <summary>What a rollout had when it ended: its counts and per-group progress, frozen at that moment, so that the
/// history keeps saying "completed, 60/60 updated" when the devices have long moved on to later versions.</summary>
public sealed record RolloutOutcome(DateTimeOffset At, int Devices, int Updated, int Failed, double Percent, long GatewayPayloadBytes,
    IReadOnlyList<GroupProgressView> GroupProgress);

/// <summary>Frozen outcomes of ended rollouts: in the database (table rollout_outcomes) or in memory. Written by
/// <see cref="OutcomeRecordingStore"/> when a rollout's state turns terminal.</summary>
public sealed class RolloutOutcomes(GatewayDatabase? db)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly ConcurrentDictionary<string, RolloutOutcome> _cache = new(StringComparer.OrdinalIgnoreCase);

    public void Save(string id, RolloutOutcome o)
    {
        _cache[id] = o;
        db?.SaveRolloutOutcome(id, JsonSerializer.Serialize(o, Json));
    }

    public RolloutOutcome? Get(string id)
    {
        if (_cache.TryGetValue(id, out var o)) return o;
        if (db?.GetRolloutOutcome(id) is not { } json) return null;
        o = JsonSerializer.Deserialize<RolloutOutcome>(json, Json);
        if (o != null) _cache[id] = o;
        return o;
    }

    /// <summary>The view as the operator should see it: live while the rollout runs, frozen once it ended.</summary>
    public RolloutView Present(RolloutView v) => RolloutStates.IsTerminal(v.State) && Get(v.Id) is { } o
        ? v with
        {
            Devices = o.Devices, Updated = o.Updated, Failed = o.Failed, Percent = o.Percent, GatewayPayloadBytes = Math.Max(o.GatewayPayloadBytes, v.GatewayPayloadBytes),
            GroupProgress = o.GroupProgress,
        }
        : v;
}

/// <summary>An <see cref="IRolloutStore"/> that, the first time a rollout is written in a terminal state, freezes its
/// counts (<see cref="RolloutOutcomes"/>) from the manager's live view at that moment.</summary>
public sealed class OutcomeRecordingStore(IRolloutStore inner, RolloutOutcomes outcomes) : IRolloutStore
{
    /// <summary>The manager's view of a rollout (set once the manager exists).</summary>
    public Func<Rollout, RolloutView>? View { get; set; }

    public void Add(Rollout rollout) => inner.Add(rollout);
    public Rollout? Get(string id) => inner.Get(id);
    public IReadOnlyList<Rollout> List() => inner.List();

    public void Update(Rollout rollout)
    {
        inner.Update(rollout);
        if (!RolloutStates.IsTerminal(rollout.State) || View == null || outcomes.Get(rollout.Id) != null) return;
        var v = View(rollout);
        outcomes.Save(rollout.Id, new RolloutOutcome(rollout.EndedAt ?? DateTimeOffset.UtcNow, v.Devices, v.Updated, v.Failed, v.Percent, v.GatewayPayloadBytes, v.GroupProgress));
    }
}
