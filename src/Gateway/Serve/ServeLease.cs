using IotOta.Gateway.Persistence;

namespace IotOta.Gateway.Serve;

/// <summary>
/// `serve` on PostgreSQL as one of several instances: waits for the <see cref="GatewayLease"/> (serving the standby
/// page and GET /api/gateway meanwhile), then returns it held. Not used on SQLite or in memory (one host), nor with
/// IotOta:Gateway:Lease = off. IotOta:Gateway:Name names the instance (default host:pid).
/// </summary>
public static class ServeLease
{
    /// <summary>The held lease, or null when this store needs none.</summary>
    public static async Task<GatewayLease?> AcquireAsync(ServeOptions o, Action<string> print, CancellationToken ct)
    {
        var config = new ConfigurationBuilder()
            .AddJsonFile(System.IO.Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true)
            .AddEnvironmentVariables()
            .AddCommandLine(o.ExtraArgs)
            .Build();
        var storage = o.Storage ?? StorageOptions.FromConfiguration(config);
        string mode = (config["IotOta:Gateway:Lease"] ?? "auto").Trim().ToLowerInvariant();
        if (mode is not ("auto" or "on" or "off")) throw new ArgumentException($"IotOta:Gateway:Lease must be auto, on or off, not '{mode}'");
        if (mode == "off" || storage.EffectiveProvider != StorageOptions.Postgres)
        {
            if (mode == "on") throw new ArgumentException("IotOta:Gateway:Lease = on needs the PostgreSQL store (ConnectionStrings:IotOta)");
            return null;
        }
        var self = GatewayInstance.ThisProcess(o.Urls.Split(';')[0], config["IotOta:Gateway:Name"]);
        GatewayInstance? active = null;
        StandbyHost? standby = null;
        try
        {
            var lease = await GatewayLease.AcquireAsync(storage.PostgresConnectionString!, self, async a =>
            {
                active = a;
                print($"standby: gateway {a?.ToString() ?? "(unknown)"} holds the lease; this instance ({self.Name}) takes over when it stops");
                standby ??= await StandbyHost.StartAsync(o.Urls, () => new GatewayRoleView(GatewayRoleView.Standby, self.Name, active?.Name, active?.Url, active?.Since), ct);
            }, ct);
            if (standby != null) print($"lease acquired: {self.Name} becomes the active gateway");
            return lease;
        }
        finally
        {
            if (standby != null) await standby.DisposeAsync();
        }
    }

    /// <summary>What GET /api/gateway answers on the active instance.</summary>
    public static GatewayRoleView ActiveView(GatewayLease? lease, string url) =>
        lease == null
            ? new GatewayRoleView(GatewayRoleView.Active, GatewayInstance.ThisProcess(url).Name, GatewayInstance.ThisProcess(url).Name, url, null)
            : new GatewayRoleView(GatewayRoleView.Active, lease.Self.Name, lease.Self.Name, lease.Self.Url, lease.Self.Since);
}
