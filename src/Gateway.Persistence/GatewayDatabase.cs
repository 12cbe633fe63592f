using System.Data;
using System.Data.Common;
using System.Text.Json;
using IotOta.Gateway.Rollouts;
using IotOta.Gateway.Fleet;
using IotOta.Gateway.Images;
using IotOta.Gateway.Node;
using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Persistence;

/// <summary>
/// The gateway's durable state: images (bytes + signed manifest), devices and their groups, rollouts, each device's
/// last known held-packet bitmap per image (from its progress reports and repair requests), and a few settings (the
/// generated signing key of `serve`). One store contract and one set of SQL statements for every provider; a provider
/// (<see cref="SqliteGatewayDatabase"/>, <see cref="PostgresGatewayDatabase"/>) gives only its connection, its column
/// types and its session setup. One connection, serialized by a lock. Thread-safe.
/// <see cref="StopWrites"/> stops every write at once, the way a killed process would (shutdown, fault suite, tests).
/// </summary>
public abstract class GatewayDatabase : INodeStore, IDisposable
{
    private readonly object _gate = new();
    private readonly DbConnection _db;
    private volatile bool _stopped;

    /// <summary>Opens the connection, runs the provider's session setup, then creates the tables that are missing.</summary>
    /// <param name="integer">the provider's 64-bit integer column type</param>
    /// <param name="blob">the provider's byte-array column type</param>
    protected GatewayDatabase(DbConnection connection, string description, string? setup, string integer, string blob)
    {
        _db = connection;
        Description = description;
        _db.Open();
        try
        {
            if (setup != null) Exec(setup);
            Exec($"""
                CREATE TABLE IF NOT EXISTS images (id TEXT PRIMARY KEY, version TEXT NOT NULL, board TEXT NOT NULL, size {integer} NOT NULL,
                  chunk_size {integer} NOT NULL, chunk_count {integer} NOT NULL, sha256 TEXT NOT NULL, uploaded_at TEXT NOT NULL, file_name TEXT,
                  bytes {blob} NOT NULL, manifest {blob} NOT NULL);
                CREATE TABLE IF NOT EXISTS rollouts (id TEXT PRIMARY KEY, created_at TEXT NOT NULL, json TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS devices (node_id {integer} PRIMARY KEY, group_id {integer} NOT NULL, ip {integer} NOT NULL, port {integer} NOT NULL,
                  version TEXT NOT NULL, state {integer} NOT NULL, last_seen TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS device_progress (node_id {integer} NOT NULL, image_id {integer} NOT NULL, chunk_count {integer} NOT NULL,
                  held_count {integer} NOT NULL, bitmap {blob} NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (node_id, image_id));
                CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS audit (seq {integer} PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
                  target TEXT, detail TEXT, client TEXT);
                CREATE TABLE IF NOT EXISTS rollout_outcomes (id TEXT PRIMARY KEY, json TEXT NOT NULL);
                """);
        }
        catch
        {
            _db.Dispose();
            throw;
        }
    }

    /// <summary>Where the state lives, for logs (a file path, or host/port/database; never a password).</summary>
    public string Description { get; }
    /// <summary>Writes that reached the store (tests).</summary>
    public long Writes { get; private set; }

    /// <summary>From now on nothing is written (reads still work): the state stays what it is at this instant. A
    /// gateway shutting down on a durable store calls it so that its running rollouts resume on the next start.</summary>
    public void StopWrites() => _stopped = true;

    /// <summary>The state on disk becomes what a kill -9 leaves: <see cref="StopWrites"/>.</summary>
    public void SimulateCrash() => StopWrites();

    private DbCommand Command(string sql, (string Name, object? Value)[] args, DbTransaction? tx = null)
    {
        var c = _db.CreateCommand();
        c.CommandText = sql;
        c.Transaction = tx;
        foreach (var (n, v) in args)
        {
            var p = c.CreateParameter();
            p.ParameterName = n;
            p.Value = v ?? DBNull.Value;
            if (v == null) p.DbType = DbType.String; // the only nullable columns are text
            c.Parameters.Add(p);
        }
        return c;
    }

    private void Exec(string sql, params (string, object?)[] args)
    {
        using var c = Command(sql, args);
        c.ExecuteNonQuery();
    }

    private bool Write(string sql, params (string, object?)[] args)
    {
        lock (_gate)
        {
            if (_stopped) return false;
            Exec(sql, args);
            Writes++;
            return true;
        }
    }

    private List<T> Query<T>(string sql, Func<DbDataReader, T> map, params (string, object?)[] args)
    {
        lock (_gate)
        {
            using var c = Command(sql, args);
            using var r = c.ExecuteReader();
            var list = new List<T>();
            while (r.Read()) list.Add(map(r));
            return list;
        }
    }

    private static long Long(DbDataReader r, int i) => Convert.ToInt64(r.GetValue(i), System.Globalization.CultureInfo.InvariantCulture);
    private static int Int(DbDataReader r, int i) => checked((int)Long(r, i));
    private static byte[] Bytes(DbDataReader r, int i) => (byte[])r.GetValue(i);
    private static DateTimeOffset Time(DbDataReader r, int i) => DateTimeOffset.Parse(r.GetString(i), System.Globalization.CultureInfo.InvariantCulture);

    // ---- images ----------------------------------------------------------------------------------------------
    /// <summary>Adds the image; false when one with the same id, or the same version and board, is stored.</summary>
    public bool TryAddImage(StoredImage i)
    {
        lock (_gate)
        {
            if (_stopped) return false;
            using var tx = _db.BeginTransaction();
            using (var c = Command("SELECT COUNT(*) FROM images WHERE lower(id) = lower(@id) OR (version = @v AND board = @b)",
                       [("@id", i.Id), ("@v", i.Version), ("@b", i.Board)], tx))
            {
                if (Convert.ToInt64(c.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) > 0) return false;
            }
            using (var c = Command("INSERT INTO images VALUES (@id,@v,@b,@size,@cs,@cc,@sha,@at,@fn,@bytes,@man)",
                       [("@id", i.Id), ("@v", i.Version), ("@b", i.Board), ("@size", i.Size), ("@cs", (long)i.ChunkSize), ("@cc", (long)i.ChunkCount),
                        ("@sha", i.Sha256), ("@at", i.UploadedAt.ToString("O")), ("@fn", i.FileName), ("@bytes", i.Image.Bytes),
                        ("@man", i.Image.ManifestBytes)], tx))
            {
                c.ExecuteNonQuery();
            }
            tx.Commit();
            Writes++;
            return true;
        }
    }

    private const string ImageColumns = "id, version, board, size, chunk_size, chunk_count, sha256, uploaded_at, file_name, bytes, manifest";

    private static StoredImage ReadImage(DbDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), Long(r, 3), Int(r, 4), Int(r, 5), r.GetString(6), Time(r, 7), r.IsDBNull(8) ? null : r.GetString(8))
        {
            Image = FirmwareImage.FromStored(Bytes(r, 9), Bytes(r, 10)),
        };

    public StoredImage? GetImage(string id) =>
        Query($"SELECT {ImageColumns} FROM images WHERE lower(id) = lower(@id)", ReadImage, ("@id", id)).FirstOrDefault();

    public IReadOnlyList<StoredImage> ListImages() => Query($"SELECT {ImageColumns} FROM images ORDER BY uploaded_at, id", ReadImage);

    public bool RemoveImage(string id)
    {
        bool existed = Query("SELECT id FROM images WHERE lower(id) = lower(@id)", r => r.GetString(0), ("@id", id)).Count > 0;
        return existed && Write("DELETE FROM images WHERE lower(id) = lower(@id)", ("@id", id));
    }

    // ---- rollouts --------------------------------------------------------------------------------------------
    public void SaveRollout(PersistedRollout r) =>
        Write("INSERT INTO rollouts VALUES (@id,@at,@json) ON CONFLICT (id) DO UPDATE SET json = excluded.json",
            ("@id", r.Id), ("@at", r.CreatedAt.ToString("O")), ("@json", JsonSerializer.Serialize(r)));

    public IReadOnlyList<PersistedRollout> ListRollouts() =>
        Query("SELECT id, json FROM rollouts ORDER BY created_at, id", r =>
        {
            try
            {
                return JsonSerializer.Deserialize<PersistedRollout>(r.GetString(1))
                       ?? throw new InvalidDataException($"stored rollout {r.GetString(0)} is null");
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"stored rollout {r.GetString(0)} in {Description} cannot be read: {e.Message}", e);
            }
        });

    // ---- devices and their progress --------------------------------------------------------------------------
    public void SaveDevice(DeviceRecord d) =>
        Write("INSERT INTO devices VALUES (@n,@g,@ip,@p,@v,@s,@t) ON CONFLICT (node_id) DO UPDATE SET group_id = excluded.group_id, ip = excluded.ip, " +
              "port = excluded.port, version = excluded.version, state = excluded.state, last_seen = excluded.last_seen",
            ("@n", (long)d.NodeId), ("@g", (long)d.GroupId), ("@ip", (long)d.Ip), ("@p", (long)d.Port), ("@v", d.Version.ToString()), ("@s", (long)d.State),
            ("@t", d.LastSeen.ToString("O")));

    /// <summary>Devices as last seen, each offline (a restarted gateway learns who is online from their presence).</summary>
    public IReadOnlyList<DeviceRecord> ListDevices() =>
        Query("SELECT node_id, group_id, ip, port, version, state, last_seen FROM devices ORDER BY node_id", r =>
            new DeviceRecord((uint)Long(r, 0), Int(r, 1), (uint)Long(r, 2), Int(r, 3), false, FirmwareVersion.Parse(r.GetString(4)),
                (DeviceState)Int(r, 5), Time(r, 6), 0, 0, 0));

    /// <summary>Stores a device's held bitmap for an image; a held packet stays held (devices keep their flash), so
    /// the stored bitmap is the union with what was stored before.</summary>
    public void SaveProgress(uint node, uint imageId, int chunkCount, byte[] bitmap)
    {
        lock (_gate)
        {
            if (_stopped) return;
            byte[]? old = null;
            using (var c = Command("SELECT chunk_count, bitmap FROM device_progress WHERE node_id = @n AND image_id = @i", [("@n", (long)node), ("@i", (long)imageId)]))
            using (var r = c.ExecuteReader())
            {
                if (r.Read() && Int(r, 0) == chunkCount) old = Bytes(r, 1);
            }
            var merged = (byte[])bitmap.Clone();
            if (old != null && old.Length == merged.Length)
                for (int i = 0; i < merged.Length; i++) merged[i] |= old[i];
            int held = 0;
            for (int i = 0; i < chunkCount && (i >> 3) < merged.Length; i++) if ((merged[i >> 3] & (1 << (i & 7))) != 0) held++;
            Exec("INSERT INTO device_progress VALUES (@n,@i,@c,@h,@b,@t) ON CONFLICT (node_id, image_id) DO UPDATE SET chunk_count = excluded.chunk_count, " +
                 "held_count = excluded.held_count, bitmap = excluded.bitmap, updated_at = excluded.updated_at",
                ("@n", (long)node), ("@i", (long)imageId), ("@c", (long)chunkCount), ("@h", (long)held), ("@b", merged), ("@t", DateTimeOffset.UtcNow.ToString("O")));
            Writes++;
        }
    }

    /// <summary>Every stored bitmap of one image: node → bitmap.</summary>
    public IReadOnlyDictionary<uint, byte[]> LoadProgress(uint imageId) =>
        Query("SELECT node_id, bitmap FROM device_progress WHERE image_id = @i", r => ((uint)Long(r, 0), Bytes(r, 1)), ("@i", (long)imageId))
            .ToDictionary(x => x.Item1, x => x.Item2);

    // ---- settings --------------------------------------------------------------------------------------------
    public string? GetSetting(string name) => Query("SELECT value FROM settings WHERE name = @n", r => r.GetString(0), ("@n", name)).FirstOrDefault();

    /// <summary>Stores the value unless the setting exists; returns the value stored now (the first one wins).</summary>
    public string AddSetting(string name, string value)
    {
        Write("INSERT INTO settings VALUES (@n,@v) ON CONFLICT (name) DO NOTHING", ("@n", name), ("@v", value));
        return GetSetting(name) ?? value;
    }

    // ---- audit log and rollout outcomes (AuditLog.cs, RolloutOutcomes.cs) -------------------------------------
    public void AddAudit(AuditEntry e)
    {
        lock (_gate)
            Write("INSERT INTO audit SELECT COALESCE(MAX(seq), 0) + 1, @at, @actor, @action, @target, @detail, @client FROM audit",
                ("@at", e.At.ToString("O")), ("@actor", e.Actor), ("@action", e.Action), ("@target", e.Target), ("@detail", e.Detail), ("@client", e.Client));
    }

    /// <summary>Newest first, after skipping <paramref name="offset"/>.</summary>
    public IReadOnlyList<AuditEntry> ListAudit(int offset, int limit) =>
        Query("SELECT seq, at, actor, action, target, detail, client FROM audit ORDER BY seq DESC LIMIT @l OFFSET @o",
            r => new AuditEntry(Long(r, 0), Time(r, 1), r.GetString(2), r.GetString(3), r.IsDBNull(4) ? null : r.GetString(4),
                r.IsDBNull(5) ? null : r.GetString(5), r.IsDBNull(6) ? null : r.GetString(6)), ("@l", (long)limit), ("@o", (long)offset));

    public long CountAudit() => Query("SELECT COUNT(*) FROM audit", r => Long(r, 0)).First();

    public void SaveRolloutOutcome(string id, string json) =>
        Write("INSERT INTO rollout_outcomes VALUES (@id, @j) ON CONFLICT (id) DO UPDATE SET json = excluded.json", ("@id", id), ("@j", json));

    public string? GetRolloutOutcome(string id) => Query("SELECT json FROM rollout_outcomes WHERE id = @id", r => r.GetString(0), ("@id", id)).FirstOrDefault();

    public void Dispose()
    {
        lock (_gate) _db.Dispose();
    }
}
