using Npgsql;

namespace IotOta.Gateway.Persistence;

/// <summary>
/// Which of several gateway processes on one PostgreSQL database is the active one. The active process holds a
/// session-level advisory lock (<c>pg_try_advisory_lock</c>) on a connection of its own for as long as it runs; the
/// others wait and try again every <see cref="RetryInterval"/>. When the active process dies (even by kill -9) its
/// session ends and PostgreSQL frees the lock, so a waiting process takes over without anyone cleaning up. The
/// holder writes who it is into the table <c>gateway_lease</c> (one row), so that a standby can say who is active.
/// The active process checks its lease connection every <see cref="CheckInterval"/>; when it is lost,
/// <see cref="Lost"/> is cancelled and the process must stop being active (another may hold the lock by then).
/// </summary>
public sealed class GatewayLease : IAsyncDisposable
{
    /// <summary>The advisory lock key ("IOTO" in ASCII).</summary>
    public const long LockKey = 0x494F544F;

    private readonly string _connectionString;
    private readonly CancellationTokenSource _lost = new();
    private NpgsqlConnection? _held;
    private Task? _watch;

    private GatewayLease(string connectionString, GatewayInstance self)
    {
        _connectionString = connectionString;
        Self = self;
    }

    public GatewayInstance Self { get; }
    public bool IsHeld => _held != null && !_lost.IsCancellationRequested;
    /// <summary>Cancelled when the lease connection is lost while held.</summary>
    public CancellationToken Lost => _lost.Token;
    public static TimeSpan RetryInterval { get; set; } = TimeSpan.FromMilliseconds(500);
    public static TimeSpan CheckInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Waits until this process holds the lease. <paramref name="waiting"/> is called (once per change of the
    /// active instance) with who holds it meanwhile.</summary>
    public static async Task<GatewayLease> AcquireAsync(string connectionString, GatewayInstance self, Func<GatewayInstance?, Task>? waiting, CancellationToken ct)
    {
        var lease = new GatewayLease(connectionString, self);
        try
        {
            await lease.EnsureTableAsync(ct);
            string? lastSeen = null;
            bool first = true;
            while (!await lease.TryTakeAsync(ct))
            {
                var active = await ReadActiveAsync(connectionString, ct);
                string now = active?.ToString() ?? "";
                if ((first || now != lastSeen) && waiting != null) await waiting(active);
                (first, lastSeen) = (false, now);
                await Task.Delay(RetryInterval, ct);
            }
            lease._watch = Task.Run(lease.WatchAsync);
            return lease;
        }
        catch
        {
            await lease.DisposeAsync();
            throw;
        }
    }

    /// <summary>Who holds the lease according to the table (null when nobody ever held it).</summary>
    public static async Task<GatewayInstance?> ReadActiveAsync(string connectionString, CancellationToken ct)
    {
        await using var c = new NpgsqlConnection(connectionString);
        await c.OpenAsync(ct);
        await using var cmd = new NpgsqlCommand("SELECT name, url, since FROM gateway_lease WHERE id = 1", c);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        if (!await r.ReadAsync(ct)) return null;
        return new GatewayInstance(r.GetString(0), r.GetString(1)) { Since = DateTimeOffset.Parse(r.GetString(2), System.Globalization.CultureInfo.InvariantCulture) };
    }

    private async Task EnsureTableAsync(CancellationToken ct)
    {
        await using var c = new NpgsqlConnection(_connectionString);
        await c.OpenAsync(ct);
        await using var cmd = new NpgsqlCommand("CREATE TABLE IF NOT EXISTS gateway_lease (id INTEGER PRIMARY KEY, name TEXT NOT NULL, url TEXT NOT NULL, since TEXT NOT NULL)", c);
        try
        {
            await cmd.ExecuteNonQueryAsync(ct);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            // two processes created it at the same moment: it exists
        }
    }

    private async Task<bool> TryTakeAsync(CancellationToken ct)
    {
        var c = new NpgsqlConnection(_connectionString);
        try
        {
            await c.OpenAsync(ct);
            await using (var take = new NpgsqlCommand("SELECT pg_try_advisory_lock(@k)", c))
            {
                take.Parameters.AddWithValue("k", LockKey);
                if (!(bool)(await take.ExecuteScalarAsync(ct))!)
                {
                    await c.DisposeAsync();
                    return false;
                }
            }
            var since = DateTimeOffset.UtcNow;
            await using (var note = new NpgsqlCommand(
                "INSERT INTO gateway_lease (id, name, url, since) VALUES (1, @n, @u, @s) ON CONFLICT (id) DO UPDATE SET name = @n, url = @u, since = @s", c))
            {
                note.Parameters.AddWithValue("n", Self.Name);
                note.Parameters.AddWithValue("u", Self.Url);
                note.Parameters.AddWithValue("s", since.ToString("O"));
                await note.ExecuteNonQueryAsync(ct);
            }
            Self.Since = since;
            _held = c;
            return true;
        }
        catch
        {
            await c.DisposeAsync();
            throw;
        }
    }

    private async Task WatchAsync()
    {
        while (!_lost.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(CheckInterval, _lost.Token);
                await using var ping = new NpgsqlCommand("SELECT 1", _held);
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await ping.ExecuteScalarAsync(timeout.Token);
            }
            catch (OperationCanceledException) when (_lost.IsCancellationRequested)
            {
                return;
            }
            catch (Exception)
            {
                _lost.Cancel(); // the session that held the lock is gone: so is the lock
                return;
            }
        }
    }

    /// <summary>Frees the lock (closing its session) so that a standby takes over at once.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_lost.IsCancellationRequested) _lost.Cancel();
        if (_watch != null) { try { await _watch; } catch (Exception) { /* closing */ } }
        if (_held != null) await _held.DisposeAsync();
        _held = null;
    }
}
