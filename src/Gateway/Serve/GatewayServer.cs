using System.Security.Cryptography;
using System.Text.Json.Serialization;
using IotOta.Gateway.Api;
using IotOta.Gateway.WebConsole;
using IotOta.Gateway.Images;
using IotOta.Gateway.Metrics;
using IotOta.Gateway.Mqtt;
using IotOta.Gateway.Persistence;
using IotOta.Gateway.Rollouts;
using IotOta.Gateway.Scheduling;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace IotOta.Gateway.Serve;

/// <summary>
/// The gateway as a server: the broker (embedded or external), the gateway node, the REST API and the web console
/// on one WebApplication, and, started from the simulation side (<see cref="ServeOptions.Simulation"/>), a virtual demo
/// fleet that trusts the gateway's key.
/// </summary>
public sealed class GatewayServer : IAsyncDisposable
{
    private EmbeddedBroker? _broker;
    private EmbeddedBrokerBytes? _brokerBytes;
    private IServeFleet? _fleet;
    private GatewayNode? _gateway;
    private WebApplication? _app;
    private ManifestSigner? _signer;
    private string? _dataDir;
    private bool _keepDataDir;
    private GatewayDatabase? _db;
    private Task? _resume;
    private readonly CancellationTokenSource _cts = new();

    private GatewayServer() { }

    /// <summary>The first address the API listens on, e.g. http://127.0.0.1:5080.</summary>
    public string Url { get; private set; } = "";
    public AdminCredentials Credentials { get; private set; } = null!;
    /// <summary>True when the password was generated for this run (nobody configured one).</summary>
    public bool PasswordGenerated { get; private set; }
    public GatewayNode Gateway => _gateway!;
    /// <summary>Cancelled when the web host is told to stop (SIGINT/SIGTERM reach its console lifetime first).</summary>
    public CancellationToken Stopping => _app?.Lifetime.ApplicationStopping ?? CancellationToken.None;
    /// <summary>What this server was started with.</summary>
    public ServeOptions Options { get; private set; } = new();
    /// <summary>The virtual fleet (null without one).</summary>
    public IServeFleet? Fleet => _fleet;
    public RolloutManager Manager { get; private set; } = null!;
    /// <summary>The web host's services (audit log, metrics, sessions).</summary>
    public IServiceProvider Services => _app!.Services;
    public string BrokerAddress { get; private set; } = "";
    /// <summary>The external broker's settings (endpoints, credentials, TLS), or null with the embedded broker.</summary>
    public MqttBrokerSettings? BrokerSettings { get; private set; }
    /// <summary>Where images, devices, rollouts and progress are kept: a SQLite file, a PostgreSQL database, or "memory".</summary>
    public string Storage { get; private set; } = StorageOptions.Memory;
    /// <summary>The durable store (null with in-memory stores).</summary>
    public GatewayDatabase? Database => _db;
    /// <summary>Ends once the rollouts interrupted by the previous run were resumed (their ids), or at once.</summary>
    public Task<IReadOnlyList<string>> Resumed { get; private set; } = Task.FromResult<IReadOnlyList<string>>([]);

    public static async Task<GatewayServer> StartAsync(ServeOptions o, Action<string>? log, CancellationToken ct)
    {
        o.Validate();
        var s = new GatewayServer { Options = o };
        try
        {
            await s.StartCoreAsync(o, log, ct);
            return s;
        }
        catch
        {
            await s.DisposeAsync();
            throw;
        }
    }

    private static double Rate(double kbps) => LinkRate.BytesPerSecond(kbps);

    private async Task StartCoreAsync(ServeOptions o, Action<string>? log, CancellationToken ct)
    {
        string host;
        int port;
        // An external broker: --broker, else IotOta:Mqtt:Endpoints; credentials and TLS from IotOta:Mqtt.
        var external = o.BrokerSettings ?? MqttBrokerConfiguration.Load(o.Broker);
        if (!external.IsEmpty)
        {
            (host, port) = (external.Endpoints[0].Host, external.Endpoints[0].Port);
            BrokerSettings = external;
        }
        else
        {
            _broker = await EmbeddedBroker.StartAsync(o.BrokerPort, null, log, o.BrokerBind);
            _brokerBytes = new EmbeddedBrokerBytes(_broker.Server);
            (host, port) = (_broker.Host, _broker.Port);
        }
        BrokerAddress = BrokerSettings?.Describe() ?? $"{host}:{port}";
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = ["--urls", o.Urls, .. o.ExtraArgs],
            ContentRootPath = AppContext.BaseDirectory,
        });
        // Durable state (appsettings.json: IotOta:Storage, ConnectionStrings:IotOta; env and command line override it).
        var storage = o.Storage ?? StorageOptions.FromConfiguration(builder.Configuration);
        _db = storage.Open();
        Storage = _db?.Description ?? StorageOptions.Memory;
        _signer = o.KeyPath != null ? ManifestSigner.FromPemFile(o.KeyPath) : _db != null ? StoredSigner(_db) : ManifestSigner.Generate();
        var up = o.GatewayUpKbps > 0 ? o.Simulation!.GatewayUplink(Rate(o.GatewayUpKbps)) : null;
        int required = BrokerLimits.PacketBytesFor(o.ChunkSize);
        _gateway = BrokerSettings != null
            ? MqttGatewayNode.Create(BrokerSettings, pace: up, log: log, store: _db, requiredPacketBytes: required)
            : MqttGatewayNode.Create(host, port, pace: up, log: log, store: _db, requiredPacketBytes: required);
        // Devices known before a restart are listed (offline) until their presence comes in again.
        if (_db != null) foreach (var d in _db.ListDevices()) _gateway.Registry.Restore(d);
        await _gateway.StartAsync(ct);

        LinkRates? links = null;
        if (o.Devices > 0)
        {
            // On a durable store the demo fleet's flash outlives the process (next to a SQLite file, or in a temp dir
            // named after the PostgreSQL database), so a restarted serve finds its devices holding what the store says;
            // in memory it lives in a temp dir deleted on exit.
            _keepDataDir = _db != null;
            _dataDir = _db switch
            {
                SqliteGatewayDatabase file => file.Path + ".fleet",
                not null => Path.Combine(Path.GetTempPath(), "iotota-serve-fleet-" +
                    Convert.ToHexString(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(_db.Description)))[..12].ToLowerInvariant()),
                null => Path.Combine(Path.GetTempPath(), "iotota-serve-" + Guid.NewGuid().ToString("N")[..8]),
            };
            _fleet = await o.Simulation!.StartFleetAsync(new ServeFleetRequest(o.Devices, o.Groups, host, port, _dataDir, _signer,
                Rate(o.DeviceUpKbps), Rate(o.DeviceDownKbps), _gateway), ct);
            if (o.GatewayUpKbps > 0 && o.DeviceUpKbps > 0 && o.DeviceDownKbps > 0)
                links = new LinkRates(Rate(o.GatewayUpKbps), _fleet.NodeIds.ToDictionary(n => n, _ => (Rate(o.DeviceUpKbps), Rate(o.DeviceDownKbps))));
        }

        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        string? user = o.User ?? builder.Configuration["IotOta:Admin:User"];
        string? password = o.Password ?? builder.Configuration["IotOta:Admin:Password"];
        if (string.IsNullOrEmpty(password))
        {
            password = Convert.ToBase64String(RandomNumberGenerator.GetBytes(12)).Replace('+', 'x').Replace('/', 'y').TrimEnd('=');
            PasswordGenerated = true;
        }
        else if (password.Length < AdminCredentials.MinPasswordLength)
            throw new ArgumentException($"the configured admin password (IotOta__Admin__Password) has {password.Length} characters; it needs at least " +
                $"{AdminCredentials.MinPasswordLength}. Choose a longer one, or leave it unset to have one generated for this run");
        Credentials = new AdminCredentials(string.IsNullOrEmpty(user) ? "admin" : user, password);
        IImageStore images = _db != null ? new DatabaseImageStore(_db) : new InMemoryImageStore();
        var outcomes = new RolloutOutcomes(_db);
        var rollouts = new OutcomeRecordingStore(_db != null ? new DatabaseRolloutStore(_db) : new InMemoryRolloutStore(), outcomes);
        Manager = new RolloutManager(_gateway, _signer, images, rollouts, new RolloutManagerOptions
        {
            MaxImageBytes = o.MaxImageBytes,
            ChunkSize = o.ChunkSize,
            Links = links,
            Log = log,
            Scheduler = new SchedulerOptions { PriorForwardRate = o.DeviceUpKbps > 0 ? Rate(o.DeviceUpKbps) : 2_000_000 },
        });
        rollouts.View = Manager.View;
        builder.Services.AddSingleton(Manager);
        builder.Services.AddIotOtaAdmin(Credentials, o, _db, outcomes);
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = o.MaxImageBytes + 1024 * 1024);
        _app = builder.Build();
        // First-network bytes at the broker (the embedded one's interceptors; an external broker's are not read here).
        if (_brokerBytes is { } counted) _app.Services.GetRequiredService<GatewayMetrics>().FirstNetworkBytes = () => counted.Sent;
        _app.UseIotOtaAdmin();
        _app.MapGatewayRole(() => ServeLease.ActiveView(o.Lease, Url), signedIn: true);
        await _app.StartAsync(ct);
        var addresses = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses;
        Url = addresses?.FirstOrDefault() ?? o.Urls.Split(';')[0];
        if (_db != null) Resumed = ResumeAsync(log);
    }

    /// <summary>Rollouts that were running or paused when the previous process ended run on from their phase; the
    /// gateway first waits (≤ 5 s) until each online target device told it what it holds.</summary>
    private Task<IReadOnlyList<string>> ResumeAsync(Action<string>? log)
    {
        var t = Task.Run(async () =>
        {
            try
            {
                var resumed = await Manager.ResumeInterruptedAsync(TimeSpan.FromSeconds(5), _cts.Token);
                if (resumed.Count > 0) log?.Invoke($"resumed rollout(s) {string.Join(", ", resumed.Select(r => r.Id))} from {Storage}");
                return (IReadOnlyList<string>)resumed.Select(r => r.Id).ToList();
            }
            catch (OperationCanceledException)
            {
                return [];
            }
        });
        _resume = t;
        return t;
    }

    /// <summary>`serve` without --key on a durable store: the key generated on the first start is kept in the store,
    /// so that manifests signed before a restart and after it verify with the same public key.</summary>
    private static ManifestSigner StoredSigner(GatewayDatabase db)
    {
        const string name = "signing-key-pem";
        string? pem = db.GetSetting(name);
        if (pem == null)
        {
            using var fresh = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            pem = db.AddSetting(name, fresh.ExportPkcs8PrivateKeyPem());
        }
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(pem);
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            key.Dispose();
            throw new InvalidDataException($"the signing key stored in {db.Description} cannot be read: {e.Message}", e);
        }
        return new ManifestSigner(key);
    }

    public async ValueTask DisposeAsync()
    {
        _cts.Cancel();
        // On a durable store a stop leaves the state as it is: running rollouts resume on the next start (their
        // retained manifests stay on the broker, devices keep what they hold). In memory, they are aborted.
        _db?.StopWrites();
        if (_resume != null)
        {
            try { await _resume.WaitAsync(TimeSpan.FromSeconds(10)); } catch (Exception) { /* shutting down */ }
        }
        if (Manager != null && _db == null)
        {
            foreach (var r in Manager.Rollouts.List().Where(r => RolloutStates.IsActive(r.State)))
            {
                try
                {
                    Manager.Abort(r.Id);
                    await Manager.WaitAsync(r.Id).WaitAsync(TimeSpan.FromSeconds(10));
                }
                catch (Exception) { /* shutting down */ }
            }
        }
        if (_app != null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        if (_fleet != null) await _fleet.DisposeAsync();
        if (_gateway != null) await _gateway.DisposeAsync();
        if (_broker != null) await _broker.DisposeAsync();
        _signer?.Dispose();
        _db?.Dispose();
        if (_dataDir != null && !_keepDataDir)
        {
            try { Directory.Delete(_dataDir, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
