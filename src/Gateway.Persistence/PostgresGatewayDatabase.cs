using Npgsql;

namespace IotOta.Gateway.Persistence;

/// <summary>The gateway's state in a PostgreSQL database, from a connection string (Npgsql). Same tables and
/// statements as SQLite; only the column types differ.</summary>
public sealed class PostgresGatewayDatabase : GatewayDatabase
{
    public PostgresGatewayDatabase(string connectionString) : base(Open(connectionString, out string where), where, null, "BIGINT", "BYTEA") { }

    private static NpgsqlConnection Open(string connectionString, out string where)
    {
        if (string.IsNullOrWhiteSpace(connectionString)) throw new ArgumentException("the PostgreSQL connection string is empty");
        NpgsqlConnectionStringBuilder b;
        try
        {
            b = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"the PostgreSQL connection string is not valid: {e.Message}", e);
        }
        where = $"postgres://{b.Host}:{b.Port}/{b.Database}";
        return new NpgsqlConnection(connectionString);
    }
}
