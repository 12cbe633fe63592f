using System.Net;
using System.Net.Sockets;
using IotOta.Gateway.Security;
using MQTTnet.Server;

namespace IotOta.Gateway.Mqtt;

/// <summary>An in-process MQTTnet broker on 127.0.0.1 (the demo's first network). Open by default; with
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

    public static async Task<EmbeddedBroker> StartAsync(int port, BrokerSecurity? security, Action<string>? log = null)
    {
        if (port == 0) port = FreePort();
        security ??= BrokerSecurity.Open;
        var b = new MqttServerOptionsBuilder().WithMaxPendingMessagesPerClient(10_000);
        if (security.Certificates is { } certs)
        {
            b = b.WithoutDefaultEndpoint()
                .WithEncryptedEndpoint()
                .WithEncryptedEndpointBoundIPAddress(IPAddress.Loopback)
                .WithEncryptedEndpointPort(port)
                .WithEncryptionCertificate(certs.Server);
        }
        else
        {
            b = b.WithDefaultEndpoint()
                .WithDefaultEndpointBoundIPAddress(IPAddress.Loopback)
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
