namespace IotOta.Simulation.Demo;

/// <summary>What the demo rollout runs: fleet shape, image, broker, links.</summary>
public sealed record DemoOptions
{
    public int Devices { get; init; } = 30;
    public int Groups { get; init; } = 3;
    public int ImageSize { get; init; } = 1024 * 1024;
    public int ChunkSize { get; init; } = 4096;
    /// <summary>host:port of an external broker; null starts the embedded one.</summary>
    public string? Broker { get; init; }
    /// <summary>With <see cref="Broker"/>: its credentials, TLS and device credentials (null = from IotOta:Mqtt in
    /// appsettings.json and the environment, with Broker as the endpoints).</summary>
    public Gateway.Mqtt.MqttBrokerSettings? BrokerSettings { get; init; }
    public bool CrossGroup { get; init; } = true;
    /// <summary>Protocol v2 control (issue #15): a signed root per group topic, the chunk-hash list over the devices'
    /// links; false: the v1 manifest to every device.</summary>
    public bool SignedRoot { get; init; } = true;
    /// <summary>RolloutOptions.PiecesDownTrees: the hash-list pieces down the relay trees (at most 21 groups).</summary>
    public bool PiecesDownTrees { get; init; } = true;
    /// <summary>0 = unlimited.</summary>
    public double GatewayUpKbps { get; init; }
    public double DeviceUpKbps { get; init; }
    public double DeviceDownKbps { get; init; }
    public double SlowFraction { get; init; }
    public double SlowFactor { get; init; } = 1;
    public double Loss { get; init; }
    /// <summary>Each group's shared uplink for copies to other groups (0 = unlimited).</summary>
    public double GroupUplinkKbps { get; init; }
    public double LatencyMs { get; init; }
    public int Seed { get; init; } = 1;
    /// <summary>Board profiles (boards/NAME.json) given to the devices round-robin; empty = the plain virtual layout.</summary>
    public IReadOnlyList<string> Boards { get; init; } = [];
    /// <summary>With Boards: shrink the image to 90 % of the smallest board slot when it would not fit (the image size
    /// was not chosen explicitly).</summary>
    public bool FitImageToBoards { get; init; }
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(5);
    /// <summary>The device core's heap budget in bytes for every device instead of the boards' coreHeapBudget
    /// (null = the boards'). A core that would exceed it stops and its device counts as failed.</summary>
    public int? CoreHeapBudget { get; init; }
    /// <summary>Peer connections each device may hold at once (null = its board's, else 6; 0 = unlimited).</summary>
    public int? PeerConnections { get; init; }
    /// <summary>Per-device MQTT credentials and the topic ACL (embedded broker); --secure.</summary>
    public bool Secure { get; init; }
    /// <summary>MQTT over TLS with a private CA (embedded broker); --tls. Implies Secure.</summary>
    public bool Tls { get; init; }
    /// <summary>Accounts (and certificates) made beforehand, for an external broker started with their files; when
    /// set, Secure and Tls are taken from it.</summary>
    public Security.FleetProvisioning? Provisioning { get; init; }

    /// <summary>Throws ArgumentException with a clear message for options that cannot run.</summary>
    public void Validate()
    {
        if (Devices < 1) throw new ArgumentException("--devices must be at least 1");
        if (Groups < 1 || Groups > Devices) throw new ArgumentException("--groups must be between 1 and --devices");
        if (ImageSize < 1 || ImageSize > 64 * 1024 * 1024) throw new ArgumentException("--image-size must be 1 byte to 64 MiB");
        if (ChunkSize < 256 || ChunkSize > 65536) throw new ArgumentException("--chunk-size must be 256 to 65536");
        if (GatewayUpKbps < 0 || DeviceUpKbps < 0 || DeviceDownKbps < 0) throw new ArgumentException("link rates cannot be negative");
        if (SlowFraction < 0 || SlowFraction > 1) throw new ArgumentException("--slow-fraction must be between 0 and 1");
        if (SlowFactor < 1) throw new ArgumentException("--slow-factor must be at least 1");
        if (Loss < 0 || Loss >= 1) throw new ArgumentException("--loss must be in [0, 1)");
        if (GroupUplinkKbps < 0) throw new ArgumentException("--group-uplink-kbps cannot be negative");
        if (LatencyMs < 0) throw new ArgumentException("--latency-ms cannot be negative");
        if (CoreHeapBudget is < 0) throw new ArgumentException("--core-heap-budget cannot be negative");
        if (PeerConnections is < 0) throw new ArgumentException("--peer-connections cannot be negative (0 = unlimited)");
        if (Broker != null) Gateway.Mqtt.MqttEndpoint.ParseList(Broker);
        if ((Secure || Tls) && Broker != null && Provisioning == null)
            throw new ArgumentException("--secure and --tls work with the embedded broker (an external broker needs the generated password, ACL and certificate files)");
    }

    public static (string Host, int Port) ParseBroker(string text) => Gateway.Mqtt.BrokerAddress.Parse(text);
}
