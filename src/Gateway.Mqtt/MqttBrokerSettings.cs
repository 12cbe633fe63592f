
namespace IotOta.Gateway.Mqtt;

/// <summary>
/// How every command reaches an external MQTT broker (configuration section <c>IotOta:Mqtt</c>, environment
/// <c>IotOta__Mqtt__…</c>; bound by <see cref="MqttBrokerConfiguration"/>): the endpoints (the nodes of a cluster, tried in
/// order on failover), the gateway's username and password, TLS, and where the virtual fleet's per-device credentials
/// come from. The password is held here but never printed: <see cref="ToString"/> and <see cref="Describe"/> leave it out.
/// </summary>
public sealed record MqttBrokerSettings
{
    public IReadOnlyList<MqttEndpoint> Endpoints { get; init; } = [];
    /// <summary>The gateway's MQTT username (null = connect without credentials).</summary>
    public string? Username { get; init; }
    /// <summary>The gateway's MQTT password (from IotOta__Mqtt__Password or the file IotOta:Mqtt:PasswordFile).</summary>
    public string? Password { get; init; }
    /// <summary>The gateway's client id; null = its username, else "iotota-gateway".</summary>
    public string? ClientId { get; init; }
    /// <summary>TLS trusting only this CA, with an optional client certificate; null = plain TCP.</summary>
    public MqttTls? Tls { get; init; }
    /// <summary>Per-device credentials of the virtual fleet (null = devices connect without credentials).</summary>
    public DeviceCredentialSource? Devices { get; init; }
    /// <summary>Spread the virtual fleet over the endpoints: device k starts at endpoint (k − 1) mod count and fails
    /// over to the others; false = every device starts at the first endpoint.</summary>
    public bool SpreadDevices { get; init; }

    /// <summary>True when no endpoint is configured (the commands that can then start an embedded broker do).</summary>
    public bool IsEmpty => Endpoints.Count == 0;

    public string GatewayClientId => ClientId ?? Username ?? "iotota-gateway";

    /// <summary>The endpoints device <paramref name="nodeId"/> tries, in order (see <see cref="SpreadDevices"/>).</summary>
    public IReadOnlyList<MqttEndpoint> EndpointsFor(uint nodeId) =>
        SpreadDevices ? MqttEndpoint.Rotate(Endpoints, (int)((nodeId - 1) % (uint)Math.Max(1, Endpoints.Count))) : Endpoints;

    /// <summary>Endpoints, user and TLS in one line for logs and the console, without the password.</summary>
    public string Describe()
    {
        string eps = string.Join(",", Endpoints);
        string user = Username == null ? "no credentials" : $"user {Username}, password {(string.IsNullOrEmpty(Password) ? "none" : "set")}";
        string tls = Tls == null ? "plain TCP" : $"TLS (CA {Tls.Authority.Subject}{(Tls.ClientCertificate != null ? ", client certificate" : "")})";
        return $"{eps} ({user}, {tls})";
    }

    public override string ToString() => Describe();
}
