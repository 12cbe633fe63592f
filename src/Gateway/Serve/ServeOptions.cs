namespace IotOta.Gateway.Serve;

/// <summary>What `serve` runs: where the API listens, the broker, the demo fleet, credentials and link rates.</summary>
public sealed record ServeOptions
{
    public string Urls { get; init; } = "http://127.0.0.1:5080";
    /// <summary>Virtual devices to start (0 = none: real devices on the broker); needs <see cref="Simulation"/>.</summary>
    public int Devices { get; init; }
    public int Groups { get; init; } = 3;
    /// <summary>HOST:PORT[,HOST:PORT…] of an external broker; null: IotOta:Mqtt:Endpoints, else the embedded one.</summary>
    public string? Broker { get; init; }
    /// <summary>The external broker's settings; null = IotOta:Mqtt from appsettings.json and the environment.</summary>
    public Mqtt.MqttBrokerSettings? BrokerSettings { get; init; }
    /// <summary>Port for the embedded broker (0 = a free one).</summary>
    public int BrokerPort { get; init; }
    /// <summary>Operator credentials; when null they come from configuration (IotOta:Admin:User/Password) or are generated.</summary>
    public string? User { get; init; }
    public string? Password { get; init; }
    /// <summary>PEM signing key (from `keygen`); null generates one for this run.</summary>
    public string? KeyPath { get; init; }
    public int ChunkSize { get; init; } = 4096;
    public long MaxImageBytes { get; init; } = 4 * 1024 * 1024;
    /// <summary>The simulated parts (virtual fleet, emulated links) when started from src/Simulation; null = none.</summary>
    public IServeSimulation? Simulation { get; init; }
    /// <summary>Emulated link rates (need <see cref="Simulation"/>); 0 = unlimited. With all three set, the console
    /// shows the Kumar–Ross bound.</summary>
    public double GatewayUpKbps { get; init; }
    public double DeviceUpKbps { get; init; }
    public double DeviceDownKbps { get; init; }
    /// <summary>Where state is kept; null: from configuration (appsettings.json IotOta:Storage, ConnectionStrings:IotOta).</summary>
    public Persistence.StorageOptions? Storage { get; init; }
    /// <summary>The lease this instance holds on a shared PostgreSQL store (see <see cref="ServeLease"/>), or null.</summary>
    public Persistence.GatewayLease? Lease { get; init; }
    /// <summary>Failed logins that lock an address out, and for how long.</summary>
    public Api.LoginThrottleOptions LoginThrottle { get; init; } = new();
    /// <summary>Open event streams per client (console session, or basic user at one address), and in all.</summary>
    public int MaxEventStreamsPerClient { get; init; } = 4;
    public int MaxEventStreams { get; init; } = 64;
    /// <summary>Addresses the embedded broker listens on; null = loopback only (127.0.0.1 and ::1).</summary>
    public System.Net.IPAddress[]? BrokerBind { get; init; }
    /// <summary>More configuration arguments (e.g. --IotOta:Storage:SqlitePath PATH), after --urls.</summary>
    public string[] ExtraArgs { get; init; } = [];

    public void Validate()
    {
        if (Devices < 0) throw new ArgumentException("--devices cannot be negative");
        if (Devices > 0 && (Groups < 1 || Groups > Devices)) throw new ArgumentException("--groups must be between 1 and --devices");
        if (ChunkSize < 256 || ChunkSize > 4096) throw new ArgumentException("--chunk-size must be 256 to 4096 (the devices take at most 4096)");
        if (MaxImageBytes < 1 || MaxImageBytes > 64L * 1024 * 1024) throw new ArgumentException("--max-image-bytes must be 1 byte to 64 MiB");
        if (GatewayUpKbps < 0 || DeviceUpKbps < 0 || DeviceDownKbps < 0) throw new ArgumentException("link rates cannot be negative");
        if (Simulation == null && (Devices > 0 || GatewayUpKbps > 0 || DeviceUpKbps > 0 || DeviceDownKbps > 0))
            throw new ArgumentException("virtual devices and emulated link rates are part of the simulation: run `dotnet run --project src/Simulation -- serve`");
        foreach (var u in Urls.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!Uri.TryCreate(u, UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https"))
                throw new ArgumentException($"--urls '{u}' is not an http(s) URL");
        }
        if (Broker != null) Mqtt.MqttEndpoint.ParseList(Broker);
        if (BrokerBind != null) Mqtt.EmbeddedBroker.BindAddresses(BrokerBind);
        Storage?.Validate();
    }
}
