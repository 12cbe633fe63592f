using Microsoft.Data.Sqlite;

namespace IotOta.Gateway.Persistence;

/// <summary>The gateway's state in one SQLite file (the default; WAL journal). The directory is created.</summary>
public sealed class SqliteGatewayDatabase : GatewayDatabase
{
    public SqliteGatewayDatabase(string path) : base(Open(path, out string full), full, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", "INTEGER", "BLOB")
    {
        Path = full;
    }

    /// <summary>The database file (absolute).</summary>
    public string Path { get; }

    private static SqliteConnection Open(string path, out string full)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new ArgumentException("the SQLite file path is empty");
        full = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        return new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = full, Pooling = false }.ToString());
    }
}
