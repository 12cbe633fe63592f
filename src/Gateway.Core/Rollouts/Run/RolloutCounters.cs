namespace IotOta.Gateway.Rollouts.Run;

/// <summary>What a rollout sent so far (payload bytes, originals, relays named, repair copies, bytes resent to devices
/// that held them, deliveries skipped because a group held them). Thread-safe.</summary>
internal sealed class RolloutCounters
{
    private long _payload, _originals, _relays, _repairs, _resent, _resentRepairs, _skipped;

    public long GatewayPayloadBytes => Interlocked.Read(ref _payload);
    public long Originals => Interlocked.Read(ref _originals);
    public long Relays => Interlocked.Read(ref _relays);
    public long RepairCopies => Interlocked.Read(ref _repairs);
    public long ResentBytes => Interlocked.Read(ref _resent);
    public long ResentRepairBytes => Interlocked.Read(ref _resentRepairs);
    public long Skipped => Interlocked.Read(ref _skipped);

    public void Original(int payloadBytes, int relays)
    {
        Interlocked.Add(ref _payload, payloadBytes);
        Interlocked.Increment(ref _originals);
        Interlocked.Add(ref _relays, relays);
    }

    public void Repair(int payloadBytes)
    {
        Interlocked.Add(ref _payload, payloadBytes);
        Interlocked.Increment(ref _repairs);
    }

    public void Resent(int payloadBytes, bool repair)
    {
        Interlocked.Add(ref _resent, payloadBytes);
        if (repair) Interlocked.Add(ref _resentRepairs, payloadBytes);
    }

    public void Skip(long deliveries) => Interlocked.Add(ref _skipped, deliveries);
}
