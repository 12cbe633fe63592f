using System.Security.Cryptography;
using IotOta.Gateway.Security;

namespace IotOta.Gateway.Fleet;

/// <summary>
/// The gateway's record of MQTT accounts: at provisioning it issues each device its own username ("dev-{id}", also its
/// only allowed client id) and a fresh random secret, the gateway and a read-only monitor theirs. It keeps only the
/// identity and a salted hash (<see cref="PasswordHash"/>); the secret is returned once and never stored or logged.
/// Thread-safe.
/// </summary>
public sealed class CredentialRegistry
{
    public const int SecretBytes = 24;

    private readonly object _gate = new();
    private readonly Dictionary<string, Account> _accounts = new(StringComparer.Ordinal);
    private readonly int _iterations;

    /// <param name="iterations">PBKDF2 iterations of the stored hashes (Mosquitto's default 101).</param>
    public CredentialRegistry(int iterations = PasswordHash.DefaultIterations) => _iterations = iterations;

    /// <summary>One account: who it is and the salted hash of its secret.</summary>
    public sealed record Account(MqttIdentity Identity, string Hash);

    /// <summary>Raised after an account was issued or revoked (a broker reloads its files then).</summary>
    public event Action? Changed;

    /// <summary>Issues device <paramref name="nodeId"/> of <paramref name="groupId"/> a new secret (replacing any
    /// earlier one: re-provisioning rotates the secret).</summary>
    public MqttCredential IssueDevice(uint nodeId, int groupId) => Issue(MqttIdentity.Device(nodeId, groupId));

    public MqttCredential IssueGateway(string username = MqttIdentity.DefaultGatewayUsername) => Issue(MqttIdentity.Gateway(username));

    public MqttCredential IssueMonitor(string username = MqttIdentity.DefaultMonitorUsername) => Issue(MqttIdentity.Monitor(username));

    public MqttCredential Issue(MqttIdentity identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        MqttIdentity.CheckName(identity.Username);
        string secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(SecretBytes)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var account = new Account(identity, PasswordHash.Create(secret, _iterations));
        lock (_gate) _accounts[identity.Username] = account;
        Changed?.Invoke();
        return new MqttCredential(identity.Username, secret);
    }

    /// <summary>Removes an account; its secret stops working once the broker reloads.</summary>
    public bool Revoke(string username)
    {
        bool removed;
        lock (_gate) removed = _accounts.Remove(username);
        if (removed) Changed?.Invoke();
        return removed;
    }

    /// <summary>The identity behind a username and secret, or null when either is wrong.</summary>
    public MqttIdentity? Authenticate(string? username, string? secret)
    {
        if (username == null || secret == null) return null;
        Account? a;
        lock (_gate) _accounts.TryGetValue(username, out a);
        return a != null && PasswordHash.Verify(secret, a.Hash) ? a.Identity : null;
    }

    /// <summary>The identity of a username (no secret check), or null.</summary>
    public MqttIdentity? Find(string? username)
    {
        if (username == null) return null;
        lock (_gate) return _accounts.TryGetValue(username, out var a) ? a.Identity : null;
    }

    /// <summary>Every account, ordered by username.</summary>
    public IReadOnlyList<Account> Accounts()
    {
        lock (_gate) return _accounts.Values.OrderBy(a => a.Identity.Username, StringComparer.Ordinal).ToList();
    }
}
