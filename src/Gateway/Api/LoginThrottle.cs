using System.Collections.Concurrent;

namespace IotOta.Gateway.Api;

/// <summary>How many failed logins lock a client out, and for how long.</summary>
public sealed record LoginThrottleOptions
{
    /// <summary>Failed attempts (console login or basic credentials) from one address within <see cref="Window"/>
    /// that lock it out.</summary>
    public int MaxFailures { get; init; } = 5;
    public TimeSpan Window { get; init; } = TimeSpan.FromMinutes(15);
    public TimeSpan Lockout { get; init; } = TimeSpan.FromMinutes(5);
    /// <summary>Each failed attempt is answered this much later (slows guessing even before the lockout).</summary>
    public TimeSpan FailureDelay { get; init; } = TimeSpan.FromMilliseconds(250);
}

/// <summary>Failed logins per client address: after <see cref="LoginThrottleOptions.MaxFailures"/> failures within the
/// window the address is locked out (even the right password is refused) until the lockout passes. Thread-safe.</summary>
public sealed class LoginThrottle(LoginThrottleOptions options, TimeProvider time)
{
    private sealed class Entry
    {
        public readonly Queue<DateTimeOffset> Failures = new();
        public DateTimeOffset LockedUntil;
    }

    private readonly ConcurrentDictionary<string, Entry> _clients = new(StringComparer.Ordinal);

    public LoginThrottleOptions Options => options;

    /// <summary>How long the client is still locked out, or null.</summary>
    public TimeSpan? LockedFor(string client)
    {
        if (!_clients.TryGetValue(client, out var e)) return null;
        lock (e)
        {
            var left = e.LockedUntil - time.GetUtcNow();
            return left > TimeSpan.Zero ? left : null;
        }
    }

    /// <summary>Counts a failure; true when this one locked the client out.</summary>
    public bool Failed(string client)
    {
        var e = _clients.GetOrAdd(client, _ => new Entry());
        var now = time.GetUtcNow();
        lock (e)
        {
            e.Failures.Enqueue(now);
            while (e.Failures.Count > 0 && now - e.Failures.Peek() > options.Window) e.Failures.Dequeue();
            if (e.Failures.Count < options.MaxFailures) return false;
            e.Failures.Clear();
            e.LockedUntil = now + options.Lockout;
            return true;
        }
    }

    public void Succeeded(string client) => _clients.TryRemove(client, out _);

    public static string ClientOf(HttpContext ctx) => ctx.Connection.RemoteIpAddress?.ToString() ?? "unknown";
}
