using IotOta.Gateway;
using IotOta.Gateway.Fleet;
using IotOta.Gateway.Mqtt;
using IotOta.Gateway.Security;
using IotOta.VirtualDevice.Host;
using IotOta.VirtualDevice.Network;

namespace IotOta.Simulation.Security;

/// <summary>
/// Provisioning of a virtual fleet in one place: the gateway's <see cref="CredentialRegistry"/> issues every device
/// (node ids firstNodeId.., groups as <see cref="VirtualFleet.GroupOf"/>), the gateway and a read-only monitor their
/// MQTT accounts; with TLS a private CA and broker certificate are made. The issued device secrets are kept here only
/// to hand them to the virtual devices (<see cref="Configure"/>), as a factory would flash them into real ones; the
/// registry itself keeps hashes. Not thread-safe while being created; read-only afterwards.
/// </summary>
public sealed class FleetProvisioning : IDisposable
{
    private readonly Dictionary<uint, MqttCredential> _devices = new();

    private FleetProvisioning(CredentialRegistry registry, MqttCredential gateway, MqttCredential monitor, MqttCertificates? certificates)
    {
        Registry = registry;
        Gateway = gateway;
        Monitor = monitor;
        Certificates = certificates;
        ClientTls = certificates == null ? null : new MqttTls(certificates.Authority, certificates.ServerName);
    }

    public CredentialRegistry Registry { get; }
    public MqttCredential Gateway { get; }
    public MqttCredential Monitor { get; }
    public MqttCertificates? Certificates { get; }
    /// <summary>What clients (gateway, devices) use for TLS, or null for plain TCP.</summary>
    public MqttTls? ClientTls { get; }
    public IReadOnlyDictionary<uint, MqttCredential> Devices => _devices;
    /// <summary>What the embedded broker enforces for this fleet.</summary>
    public BrokerSecurity BrokerSecurity => new(Registry, Certificates);

    /// <summary>Issues accounts for <paramref name="devices"/> devices in <paramref name="groups"/> groups, the
    /// gateway and the monitor; with <paramref name="tls"/> also creates the certificates.</summary>
    public static FleetProvisioning Create(int devices, int groups, bool tls = false, int firstNodeId = 1)
    {
        if (devices < 0) throw new ArgumentOutOfRangeException(nameof(devices));
        if (groups < 1) throw new ArgumentOutOfRangeException(nameof(groups));
        var registry = new CredentialRegistry();
        var p = new FleetProvisioning(registry, registry.IssueGateway(), registry.IssueMonitor(), tls ? MqttCertificates.Create() : null);
        for (int i = 0; i < devices; i++)
        {
            uint node = (uint)(firstNodeId + i);
            p._devices[node] = registry.IssueDevice(node, VirtualFleet.GroupOf(i + 1, groups));
        }
        return p;
    }

    /// <summary>Issues one more device account (e.g. a device that joins later).</summary>
    public MqttCredential AddDevice(uint nodeId, int groupId)
    {
        var c = Registry.IssueDevice(nodeId, groupId);
        _devices[nodeId] = c;
        return c;
    }

    /// <summary>A virtual device's options with its own credentials (username = client id) and the TLS trust.</summary>
    public VirtualDeviceOptions Configure(VirtualDeviceOptions o)
    {
        if (!_devices.TryGetValue(o.NodeId, out var c)) throw new InvalidOperationException($"device {o.NodeId} was not provisioned");
        return o with { MqttUser = c.Username, MqttPassword = c.Secret, MqttTls = ClientTls };
    }

    /// <summary>The gateway node on this fleet's broker with the gateway's account.</summary>
    public GatewayNode NewGateway(string host, int port, TimeProvider? time = null, TokenBucket? upBucket = null, Action<string>? log = null)
    {
        var tls = ClientTls;
        return MqttGatewayNode.Create(host, port, time, upBucket == null ? null : upBucket.ConsumeAsync, log, clientId: Gateway.Username, user: Gateway.Username,
            password: Gateway.Secret, configure: tls == null ? null : tls.Apply);
    }

    public string PasswordFile() => MosquittoSecurityFiles.PasswordFile(Registry);
    public string AclFile() => MosquittoSecurityFiles.AclFile(Registry);

    /// <summary>Every secret issued here (for tests that check no secret leaks into logs).</summary>
    public IEnumerable<string> Secrets() => _devices.Values.Select(d => d.Secret).Append(Gateway.Secret).Append(Monitor.Secret);

    public void Dispose() => Certificates?.Dispose();
}
