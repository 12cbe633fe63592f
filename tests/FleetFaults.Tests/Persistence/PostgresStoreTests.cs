using IotOta.Gateway.Persistence;
using IotOta.TestSupport;

namespace IotOta.FleetFaults.Tests.Persistence;

/// <summary>One real PostgreSQL server (Debian's packages, tests/TestSupport/PostgresServer.cs) for the PostgreSQL tests.</summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    public PostgresServer Server { get; private set; } = null!;
    public async Task InitializeAsync() => Server = await PostgresServer.StartAsync();
    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>The store contract on a real PostgreSQL: each test on its own fresh database.</summary>
public sealed class PostgresStoreTests(PostgresFixture pg) : GatewayStoreContract, IClassFixture<PostgresFixture>
{
    protected override Task<string> NewLocationAsync() => pg.Server.CreateDatabaseAsync();
    protected override GatewayDatabase Open(string location) => new PostgresGatewayDatabase(location);

    protected override void InsertRawRollout(string location, string id, string createdAt, string json)
    {
        using var c = new Npgsql.NpgsqlConnection(location);
        c.Open();
        using var cmd = new Npgsql.NpgsqlCommand("INSERT INTO rollouts VALUES (@id, @at, @json)", c);
        cmd.Parameters.AddWithValue("id", id);
        cmd.Parameters.AddWithValue("at", createdAt);
        cmd.Parameters.AddWithValue("json", json);
        cmd.ExecuteNonQuery();
    }

    [Fact]
    public void A_server_that_is_not_there_is_a_clear_error()
    {
        int port = FreePort.Get();
        var e = Assert.ThrowsAny<Exception>(() => new PostgresGatewayDatabase($"Host=127.0.0.1;Port={port};Username=x;Database=y;Timeout=3"));
        Assert.IsAssignableFrom<System.Data.Common.DbException>(e is System.Data.Common.DbException ? e : e.InnerException);
    }

    [Fact]
    public void A_bad_connection_string_is_a_clear_error()
    {
        var e = Assert.Throws<ArgumentException>(() => new PostgresGatewayDatabase("Host=x;NoSuchKeyword=1"));
        Assert.Contains("connection string is not valid", e.Message);
        Assert.Throws<ArgumentException>(() => new PostgresGatewayDatabase(" "));
    }
}
