using System.Collections.Concurrent;

namespace IotOta.Gateway.Api;

/// <summary>Caps the open event streams: at most <see cref="PerClient"/> per client (a console session, or a basic-auth
/// user at one address) and <see cref="Total"/> in all, so that open streams cannot slow a rollout down.</summary>
public sealed class EventStreamGate(int perClient, int total)
{
    private readonly ConcurrentDictionary<string, int> _open = new(StringComparer.Ordinal);
    private int _total;

    public int PerClient => perClient;
    public int Total => total;
    public int Open => Volatile.Read(ref _total);

    /// <summary>A lease to hold while the stream is open, or null (with why) when a cap is reached.</summary>
    public IDisposable? TryOpen(string client, out string? refusal)
    {
        refusal = null;
        if (Interlocked.Increment(ref _total) > total)
        {
            Interlocked.Decrement(ref _total);
            refusal = $"the gateway already serves {total} event streams; close one (or poll GET /api/rollouts/{{id}})";
            return null;
        }
        int mine = _open.AddOrUpdate(client, 1, (_, n) => n + 1);
        if (mine > perClient)
        {
            Release(client);
            refusal = $"this client already has {perClient} event streams open; close one first";
            return null;
        }
        return new Lease(this, client);
    }

    private void Release(string client)
    {
        _open.AddOrUpdate(client, 0, (_, n) => Math.Max(0, n - 1));
        Interlocked.Decrement(ref _total);
    }

    private sealed class Lease(EventStreamGate gate, string client) : IDisposable
    {
        private int _done;
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0) gate.Release(client);
        }
    }
}
