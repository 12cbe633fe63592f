using IotOta.Gateway.Persistence;
using IotOta.TestSupport;

namespace IotOta.FleetFaults.Tests.Persistence;

/// <summary>The store contract on a SQLite file (the default store).</summary>
public sealed class SqliteStoreTests : GatewayStoreContract, IDisposable
{
    private readonly TempDir _dir = new("iotota-sqlite-");
    private int _n;

    protected override Task<string> NewLocationAsync() => Task.FromResult(_dir.File($"state{Interlocked.Increment(ref _n)}/gateway.db"));
    protected override GatewayDatabase Open(string location) => new SqliteGatewayDatabase(location);

    protected override void InsertRawRollout(string location, string id, string createdAt, string json)
    {
        using var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={location};Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "INSERT INTO rollouts VALUES ($id, $at, $json)";
        cmd.Parameters.AddWithValue("$id", id);
        cmd.Parameters.AddWithValue("$at", createdAt);
        cmd.Parameters.AddWithValue("$json", json);
        cmd.ExecuteNonQuery();
    }

    [Fact]
    public void An_unreadable_file_is_a_clear_error()
    {
        string path = _dir.File("not-a-database.db");
        File.WriteAllText(path, "this is not SQLite, and it is long enough to hold a header of one hundred bytes.........................");
        var e = Assert.ThrowsAny<Exception>(() => new SqliteGatewayDatabase(path));
        Assert.Contains("not a database", e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.StartsWith("this is not SQLite", File.ReadAllText(path)); // left as it was
    }

    public void Dispose() => _dir.Dispose();
}
