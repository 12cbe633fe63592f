using System.Net;
using System.Net.Sockets;
using IotOta.Gateway.Security;
using MQTTnet.Server;

namespace IotOta.Gateway.Mqtt;

/// <summary>An in-process MQTTnet broker, on the loopback addresses only (127.0.0.1 and ::1) unless given others (the
/// demo's first network). Open by default; with
/// <see cref="BrokerSecurity"/> it checks credentials and the topic ACL (<see cref="BrokerGuard"/>) and/or listens
/// with TLS only.</summary>
public sealed class EmbeddedBroker : IAsyncDisposable
{
    private readonly MqttServer _server;

    private EmbeddedBroker(MqttServer server, int port, BrokerGuard? guard, bool tls)
    {
        _server = server;
        Port = port;
        Guard = guard;
        UsesTls = tls;
    }

    public int Port { get; }
    public string Host => "127.0.0.1";
    public MqttServer Server => _server;
    /// <summary>The credential and ACL checks, or null for an open broker.</summary>
    public BrokerGuard? Guard { get; }
    public bool UsesTls { get; }

    public static Task<EmbeddedBroker> StartAsync(int port = 0) => StartAsync(port, null, null);

    /// <param name="bind">at most one IPv4 and one IPv6 address to listen on; null = 127.0.0.1 and ::1 (a family left
    /// out is not listened on)</param>
    public static async Task<EmbeddedBroker> StartAsync(int port, BrokerSecurity? security, Action<string>? log = null, IReadOnlyList<IPAddress>? bind = null)
    {
        if (port == 0) port = FreePort();
        var (v4, v6) = BindAddresses(bind);
        security ??= BrokerSecurity.Open;
        var b = new MqttServerOptionsBuilder().WithMaxPendingMessagesPerClient(10_000);
        if (security.Certificates is { } certs)
        {
            b = b.WithoutDefaultEndpoint()
                .WithEncryptedEndpoint()
                .WithEncryptedEndpointBoundIPAddress(v4)
                .WithEncryptedEndpointBoundIPV6Address(v6)
                .WithEncryptedEndpointPort(port)
                .WithEncryptionCertificate(certs.Server);
        }
        else
        {
            b = b.WithDefaultEndpoint()
                .WithDefaultEndpointBoundIPAddress(v4)
                .WithDefaultEndpointBoundIPV6Address(v6)
                .WithDefaultEndpointPort(port);
        }
        var server = new MqttServerFactory().CreateMqttServer(b.Build());
        BrokerGuard? guard = null;
        if (security.Credentials is { } registry)
        {
            guard = new BrokerGuard(registry, log);
            guard.Attach(server);
        }
        await server.StartAsync();
        return new EmbeddedBroker(server, port, guard, security.Certificates != null);
    }

    /// <summary>The IPv4 and IPv6 address to listen on (<see cref="IPAddress.None"/>: not that family). MQTTnet listens on
    /// IPv6Any unless told otherwise, which would open the broker on every interface.</summary>
    public static (IPAddress V4, IPAddress V6) BindAddresses(IReadOnlyList<IPAddress>? bind)
    {
        if (bind == null || bind.Count == 0) return (IPAddress.Loopback, Socket.OSSupportsIPv6 ? IPAddress.IPv6Loopback : IPAddress.None);
        var v4 = bind.Where(a => a.AddressFamily == AddressFamily.InterNetwork).ToList();
        var v6 = bind.Where(a => a.AddressFamily == AddressFamily.InterNetworkV6).ToList();
        if (v4.Count > 1 || v6.Count > 1) throw new ArgumentException("the embedded broker listens on at most one IPv4 and one IPv6 address");
        return (v4.FirstOrDefault() ?? IPAddress.None, v6.FirstOrDefault() ?? IPAddress.None);
    }

    public static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int p = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return p;
    }

    public async ValueTask DisposeAsync()
    {
        await _server.StopAsync();
        _server.Dispose();
    }
}
