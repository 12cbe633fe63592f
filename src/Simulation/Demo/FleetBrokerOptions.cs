using IotOta.Gateway.Mqtt;
using IotOta.VirtualDevice.Host;

namespace IotOta.Simulation.Demo;

/// <summary>The virtual fleet's side of <see cref="MqttBrokerSettings"/>: each device's endpoints (its own first when
/// spread over a cluster, the others to fail over to), its credentials (file or pattern), and TLS trusting the same CA
/// (without the gateway's client certificate).</summary>
public static class FleetBrokerOptions
{
    /// <summary>A per-device options step for <see cref="VirtualFleet.StartAsync"/>, followed by <paramref name="then"/>.</summary>
    public static Func<VirtualDeviceOptions, VirtualDeviceOptions> Apply(MqttBrokerSettings settings, Func<VirtualDeviceOptions, VirtualDeviceOptions>? then = null) => o =>
    {
        var endpoints = settings.EndpointsFor(o.NodeId);
        var credentials = settings.Devices?.For(o.NodeId);
        o = o with
        {
            BrokerHost = endpoints[0].Host,
            BrokerPort = endpoints[0].Port,
            FailoverEndpoints = endpoints.Skip(1).ToList(),
            MqttTls = settings.Tls is { } tls ? tls with { ClientCertificate = null } : o.MqttTls,
            MqttUser = credentials?.User ?? o.MqttUser,
            MqttPassword = credentials?.Password ?? o.MqttPassword,
        };
        return then == null ? o : then(o);
    };
}
