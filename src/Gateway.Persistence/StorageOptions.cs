using Microsoft.Extensions.Configuration;

namespace IotOta.Gateway.Persistence;

/// <summary>
/// Where `serve` keeps its state, from configuration (appsettings.json, then IotOta__Storage__* and
/// ConnectionStrings__IotOta environment variables, then the command line):
/// <c>IotOta:Storage:Provider</c> = <c>sqlite</c> | <c>postgres</c> | <c>memory</c>, or empty for PostgreSQL when
/// <c>ConnectionStrings:IotOta</c> is set and SQLite otherwise; <c>IotOta:Storage:SqlitePath</c> (relative to the
/// working directory).
/// </summary>
public sealed record StorageOptions
{
    public const string Sqlite = "sqlite", Postgres = "postgres", Memory = "memory";
    public const string DefaultSqlitePath = "iotota.db";

    /// <summary>sqlite, postgres or memory; null or empty: postgres when a connection string is set, else sqlite.</summary>
    public string? Provider { get; init; }
    public string SqlitePath { get; init; } = DefaultSqlitePath;
    public string? PostgresConnectionString { get; init; }

    /// <summary>In-memory stores (nothing survives the process): tests and throw-away demos.</summary>
    public static StorageOptions InMemory { get; } = new() { Provider = Memory };

    public static StorageOptions FromConfiguration(IConfiguration c) => new()
    {
        Provider = c["IotOta:Storage:Provider"],
        SqlitePath = c["IotOta:Storage:SqlitePath"] is { Length: > 0 } p ? p : DefaultSqlitePath,
        PostgresConnectionString = c.GetConnectionString("IotOta"),
    };

    /// <summary>The provider that applies: <see cref="Provider"/>, or the one the settings imply.</summary>
    public string EffectiveProvider
    {
        get
        {
            string p = (Provider ?? "").Trim().ToLowerInvariant();
            if (p.Length == 0) return string.IsNullOrWhiteSpace(PostgresConnectionString) ? Sqlite : Postgres;
            return p is Sqlite or Postgres or Memory
                ? p
                : throw new ArgumentException($"IotOta:Storage:Provider '{Provider}' is not one of {Sqlite}, {Postgres}, {Memory}");
        }
    }

    public void Validate()
    {
        switch (EffectiveProvider)
        {
            case Postgres when string.IsNullOrWhiteSpace(PostgresConnectionString):
                throw new ArgumentException("IotOta:Storage:Provider is postgres but ConnectionStrings:IotOta is not set");
            case Sqlite when string.IsNullOrWhiteSpace(SqlitePath):
                throw new ArgumentException("IotOta:Storage:SqlitePath is empty");
        }
    }

    /// <summary>Opens the database (null for <see cref="Memory"/>).</summary>
    public GatewayDatabase? Open()
    {
        Validate();
        return EffectiveProvider switch
        {
            Sqlite => new SqliteGatewayDatabase(SqlitePath),
            Postgres => new PostgresGatewayDatabase(PostgresConnectionString!),
            _ => null,
        };
    }
}
