using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace IotOta.Gateway.Api;

/// <summary>The console's sessions, held server-side: a login creates one (its id travels in the cookie as the
/// <see cref="ClaimType"/> claim), logout revokes it, and a cookie whose session is gone is refused even though it is
/// still validly signed. <see cref="Ended"/> fires at revocation, so the event streams of that session end too.</summary>
public sealed class SessionStore(TimeProvider time)
{
    public const string ClaimType = "iotota:sid";

    public sealed class Session(string id, string user, DateTimeOffset created)
    {
        private readonly CancellationTokenSource _end = new();
        public string Id { get; } = id;
        public string User { get; } = user;
        public DateTimeOffset Created { get; } = created;
        /// <summary>Cancelled when the session is revoked (logout).</summary>
        public CancellationToken Ended => _end.Token;
        internal void End() => _end.Cancel();
    }

    private readonly ConcurrentDictionary<string, Session> _sessions = new(StringComparer.Ordinal);

    public Session Create(string user)
    {
        var s = new Session(Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant(), user, time.GetUtcNow());
        _sessions[s.Id] = s;
        return s;
    }

    public Session? Get(string? id) => id != null && _sessions.TryGetValue(id, out var s) ? s : null;

    /// <summary>Ends the session: its cookie no longer authenticates and its event streams close. False when unknown.</summary>
    public bool Revoke(string? id)
    {
        if (id == null || !_sessions.TryRemove(id, out var s)) return false;
        s.End();
        return true;
    }

    public int Count => _sessions.Count;
}
