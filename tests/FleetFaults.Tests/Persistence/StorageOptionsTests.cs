using IotOta.Gateway.Persistence;
using IotOta.Gateway.Serve;
using Microsoft.Extensions.Configuration;

namespace IotOta.FleetFaults.Tests.Persistence;

/// <summary>Which store `serve` opens, from configuration and its command line.</summary>
public sealed class StorageOptionsTests
{
    private static StorageOptions From(params (string Key, string? Value)[] pairs) =>
        StorageOptions.FromConfiguration(new ConfigurationBuilder().AddInMemoryCollection(pairs.Select(p => new KeyValuePair<string, string?>(p.Key, p.Value))).Build());

    [Fact]
    public void Sqlite_by_default_and_postgres_when_a_connection_string_is_configured()
    {
        var d = From();
        Assert.Equal((StorageOptions.Sqlite, "iotota.db"), (d.EffectiveProvider, d.SqlitePath));
        Assert.Equal(StorageOptions.Postgres, From(("ConnectionStrings:IotOta", "Host=h;Database=d")).EffectiveProvider);
        Assert.Equal(StorageOptions.Sqlite, From(("ConnectionStrings:IotOta", "Host=h"), ("IotOta:Storage:Provider", "SQLite")).EffectiveProvider);
        Assert.Equal("/var/lib/x.db", From(("IotOta:Storage:SqlitePath", "/var/lib/x.db")).SqlitePath);
        Assert.Null(StorageOptions.InMemory.Open());
    }

    [Fact]
    public void Bad_settings_are_clear_errors()
    {
        Assert.Contains("not one of", Assert.Throws<ArgumentException>(() => From(("IotOta:Storage:Provider", "mongo")).Validate()).Message);
        Assert.Contains("ConnectionStrings:IotOta is not set", Assert.Throws<ArgumentException>(() => From(("IotOta:Storage:Provider", "postgres")).Validate()).Message);
    }

    [Fact]
    public void The_shipped_appsettings_json_means_sqlite_in_iotota_db()
    {
        string file = Path.Combine(AppContext.BaseDirectory, "appsettings.json");
        Assert.True(File.Exists(file), "the gateway's appsettings.json is copied next to its assembly");
        var o = StorageOptions.FromConfiguration(new ConfigurationBuilder().AddJsonFile(file).Build());
        Assert.Equal((StorageOptions.Sqlite, "iotota.db"), (o.EffectiveProvider, o.SqlitePath));
    }

    [Fact]
    public void Serve_database_and_storage_options_become_configuration_that_wins()
    {
        Assert.Equal(["--IotOta:Storage:SqlitePath", "/d/g.db", "--IotOta:Storage:Provider", "sqlite"], ServeCommand.StorageArgs("/d/g.db", null));
        Assert.Equal(["--IotOta:Storage:Provider", "memory"], ServeCommand.StorageArgs(null, "memory"));
        Assert.Empty(ServeCommand.StorageArgs(null, null));
        var config = new ConfigurationBuilder()
            .AddInMemoryCollection([new("IotOta:Storage:SqlitePath", "from-json.db"), new("ConnectionStrings:IotOta", "Host=h")])
            .AddCommandLine(ServeCommand.StorageArgs("cli.db", null)).Build();
        var o = StorageOptions.FromConfiguration(config);
        Assert.Equal((StorageOptions.Sqlite, "cli.db"), (o.EffectiveProvider, o.SqlitePath));
    }
}
