using System.Text.Json;
using IotOta.Gateway.Api;
using IotOta.Gateway.Fleet;
using IotOta.Gateway.Images;
using IotOta.Shared.Protocol;
using Microsoft.Data.Sqlite;

namespace IotOta.Gateway.Persistence;

/// <summary>
/// The gateway's durable state in one SQLite file: images (bytes + signed manifest), devices and their groups,
/// rollouts, and each device's last known held-packet bitmap per image (from its progress reports and repair
/// requests). One connection, serialized by a lock; WAL journal. <see cref="SimulateCrash"/> stops every write at
/// once, the way a killed process would (the fault suite and tests use it).
/// </summary>
public sealed class GatewayDatabase : IDisposable
{
    private readonly object _gate = new();
    private readonly SqliteConnection _db;
    private volatile bool _crashed;

    public GatewayDatabase(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        _db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path, Pooling = false }.ToString());
        _db.Open();
        Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
        Exec("""
            CREATE TABLE IF NOT EXISTS images (id TEXT PRIMARY KEY, version TEXT NOT NULL, board TEXT NOT NULL, size INTEGER NOT NULL,
              chunk_size INTEGER NOT NULL, chunk_count INTEGER NOT NULL, sha256 TEXT NOT NULL, uploaded_at TEXT NOT NULL, file_name TEXT,
              bytes BLOB NOT NULL, manifest BLOB NOT NULL);
            CREATE TABLE IF NOT EXISTS rollouts (id TEXT PRIMARY KEY, created_at TEXT NOT NULL, json TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS devices (node_id INTEGER PRIMARY KEY, group_id INTEGER NOT NULL, ip INTEGER NOT NULL, port INTEGER NOT NULL,
              version TEXT NOT NULL, state INTEGER NOT NULL, last_seen TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS device_progress (node_id INTEGER NOT NULL, image_id INTEGER NOT NULL, chunk_count INTEGER NOT NULL,
              held_count INTEGER NOT NULL, bitmap BLOB NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (node_id, image_id));
            """);
    }

    public string Path { get; }
    public bool Crashed => _crashed;
    /// <summary>Writes that reached the file (tests).</summary>
    public long Writes { get; private set; }

    /// <summary>From now on nothing is written (reads still work): the state on disk is what a kill -9 leaves.</summary>
    public void SimulateCrash() => _crashed = true;

    private void Exec(string sql, params (string, object?)[] args)
    {
        using var c = _db.CreateCommand();
        c.CommandText = sql;
        foreach (var (n, v) in args) c.Parameters.AddWithValue(n, v ?? DBNull.Value);
        c.ExecuteNonQuery();
    }

    private bool Write(string sql, params (string, object?)[] args)
    {
        lock (_gate)
        {
            if (_crashed) return false;
            Exec(sql, args);
            Writes++;
            return true;
        }
    }

    private List<T> Query<T>(string sql, Func<SqliteDataReader, T> map, params (string, object?)[] args)
    {
        lock (_gate)
        {
            using var c = _db.CreateCommand();
            c.CommandText = sql;
            foreach (var (n, v) in args) c.Parameters.AddWithValue(n, v ?? DBNull.Value);
            using var r = c.ExecuteReader();
            var list = new List<T>();
            while (r.Read()) list.Add(map(r));
            return list;
        }
    }

    // ---- images ----------------------------------------------------------------------------------------------
    public bool TryAddImage(StoredImage i)
    {
        lock (_gate)
        {
            if (_crashed) return false;
            using var tx = _db.BeginTransaction();
            using (var c = _db.CreateCommand())
            {
                c.Transaction = tx;
                c.CommandText = "SELECT COUNT(*) FROM images WHERE id = $id OR (version = $v AND board = $b)";
                c.Parameters.AddWithValue("$id", i.Id);
                c.Parameters.AddWithValue("$v", i.Version);
                c.Parameters.AddWithValue("$b", i.Board);
                if ((long)c.ExecuteScalar()! > 0) return false;
            }
            using (var c = _db.CreateCommand())
            {
                c.Transaction = tx;
                c.CommandText = "INSERT INTO images VALUES ($id,$v,$b,$size,$cs,$cc,$sha,$at,$fn,$bytes,$man)";
                c.Parameters.AddWithValue("$id", i.Id);
                c.Parameters.AddWithValue("$v", i.Version);
                c.Parameters.AddWithValue("$b", i.Board);
                c.Parameters.AddWithValue("$size", i.Size);
                c.Parameters.AddWithValue("$cs", i.ChunkSize);
                c.Parameters.AddWithValue("$cc", i.ChunkCount);
                c.Parameters.AddWithValue("$sha", i.Sha256);
                c.Parameters.AddWithValue("$at", i.UploadedAt.ToString("O"));
                c.Parameters.AddWithValue("$fn", (object?)i.FileName ?? DBNull.Value);
                c.Parameters.AddWithValue("$bytes", i.Image.Bytes);
                c.Parameters.AddWithValue("$man", i.Image.ManifestBytes);
                c.ExecuteNonQuery();
            }
            tx.Commit();
            Writes++;
            return true;
        }
    }

    private const string ImageColumns = "id, version, board, size, chunk_size, chunk_count, sha256, uploaded_at, file_name, bytes, manifest";

    private static StoredImage ReadImage(SqliteDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt64(3), r.GetInt32(4), r.GetInt32(5), r.GetString(6),
            DateTimeOffset.Parse(r.GetString(7), System.Globalization.CultureInfo.InvariantCulture), r.IsDBNull(8) ? null : r.GetString(8))
        {
            Image = FirmwareImage.FromStored((byte[])r[9], (byte[])r[10]),
        };

    public StoredImage? GetImage(string id) =>
        Query($"SELECT {ImageColumns} FROM images WHERE id = $id COLLATE NOCASE", ReadImage, ("$id", id)).FirstOrDefault();

    public IReadOnlyList<StoredImage> ListImages() => Query($"SELECT {ImageColumns} FROM images ORDER BY uploaded_at", ReadImage);

    public bool RemoveImage(string id)
    {
        bool existed = GetImage(id) != null;
        return existed && Write("DELETE FROM images WHERE id = $id COLLATE NOCASE", ("$id", id));
    }

    // ---- rollouts --------------------------------------------------------------------------------------------
    public void SaveRollout(PersistedRollout r) =>
        Write("INSERT INTO rollouts VALUES ($id,$at,$json) ON CONFLICT(id) DO UPDATE SET json = excluded.json",
            ("$id", r.Id), ("$at", r.CreatedAt.ToString("O")), ("$json", JsonSerializer.Serialize(r)));

    public IReadOnlyList<PersistedRollout> ListRollouts() =>
        Query("SELECT json FROM rollouts ORDER BY created_at", r => JsonSerializer.Deserialize<PersistedRollout>(r.GetString(0))!);

    // ---- devices and their progress --------------------------------------------------------------------------
    public void SaveDevice(DeviceRecord d) =>
        Write("INSERT INTO devices VALUES ($n,$g,$ip,$p,$v,$s,$t) ON CONFLICT(node_id) DO UPDATE SET group_id=excluded.group_id, ip=excluded.ip, " +
              "port=excluded.port, version=excluded.version, state=excluded.state, last_seen=excluded.last_seen",
            ("$n", (long)d.NodeId), ("$g", d.GroupId), ("$ip", (long)d.Ip), ("$p", d.Port), ("$v", d.Version.ToString()), ("$s", (int)d.State),
            ("$t", d.LastSeen.ToString("O")));

    /// <summary>Devices as last seen: (node, group, version, state).</summary>
    public IReadOnlyList<(uint NodeId, int GroupId, string Version, DeviceState State)> ListDevices() =>
        Query("SELECT node_id, group_id, version, state FROM devices ORDER BY node_id", r => ((uint)r.GetInt64(0), r.GetInt32(1), r.GetString(2), (DeviceState)r.GetInt32(3)));

    /// <summary>Stores a device's held bitmap for an image; a held packet stays held (devices keep their flash), so
    /// the stored bitmap is the union with what was stored before.</summary>
    public void SaveProgress(uint node, uint imageId, int chunkCount, byte[] bitmap)
    {
        lock (_gate)
        {
            if (_crashed) return;
            var old = LoadProgressUnlocked(node, imageId);
            var merged = (byte[])bitmap.Clone();
            if (old is { } o && o.ChunkCount == chunkCount && o.Bitmap.Length == merged.Length)
                for (int i = 0; i < merged.Length; i++) merged[i] |= o.Bitmap[i];
            int held = 0;
            for (int i = 0; i < chunkCount; i++) if ((merged[i >> 3] & (1 << (i & 7))) != 0) held++;
            Exec("INSERT INTO device_progress VALUES ($n,$i,$c,$h,$b,$t) ON CONFLICT(node_id, image_id) DO UPDATE SET chunk_count=excluded.chunk_count, " +
                 "held_count=excluded.held_count, bitmap=excluded.bitmap, updated_at=excluded.updated_at",
                ("$n", (long)node), ("$i", (long)imageId), ("$c", chunkCount), ("$h", held), ("$b", merged), ("$t", DateTimeOffset.UtcNow.ToString("O")));
            Writes++;
        }
    }

    private (int ChunkCount, byte[] Bitmap)? LoadProgressUnlocked(uint node, uint imageId)
    {
        using var c = _db.CreateCommand();
        c.CommandText = "SELECT chunk_count, bitmap FROM device_progress WHERE node_id = $n AND image_id = $i";
        c.Parameters.AddWithValue("$n", (long)node);
        c.Parameters.AddWithValue("$i", (long)imageId);
        using var r = c.ExecuteReader();
        return r.Read() ? (r.GetInt32(0), (byte[])r[1]) : null;
    }

    /// <summary>Every stored bitmap of one image: node → bitmap.</summary>
    public IReadOnlyDictionary<uint, byte[]> LoadProgress(uint imageId) =>
        Query("SELECT node_id, bitmap FROM device_progress WHERE image_id = $i", r => ((uint)r.GetInt64(0), (byte[])r[1]), ("$i", (long)imageId))
            .ToDictionary(x => x.Item1, x => x.Item2);

    public void Dispose()
    {
        lock (_gate) _db.Dispose();
    }
}

/// <summary>What survives of a rollout: the operator's request and where it stood.</summary>
public sealed record PersistedRollout(string Id, string ImageId, string Version, IReadOnlyList<int> Groups, int CanaryGroups, int MaxFailures,
    int TimeoutSeconds, DateTimeOffset CreatedAt, string State, DateTimeOffset? StartedAt, DateTimeOffset? EndedAt, string? Message,
    IReadOnlyList<IReadOnlyList<int>> Phases, int Phase, IReadOnlyList<uint> TargetDevices);
