using IotOta.Gateway.Mqtt;
using IotOta.Simulation.Security;
using IotOta.Gateway.Security;
using IotOta.VirtualDevice.Host;
using IotOta.VirtualDevice.Platform;

namespace IotOta.Simulation.Tests.Security;

public class FleetProvisioningTests
{
    private static VirtualDeviceOptions Device(uint node) => new()
    {
        NodeId = node, GroupId = 1, BrokerHost = "127.0.0.1", BrokerPort = 1, DataDir = "/tmp", Verifier = new EcdsaSignatureVerifier(),
    };

    [Fact]
    public void Every_device_gets_its_own_account_in_its_group_and_uses_the_username_as_client_id()
    {
        using var p = FleetProvisioning.Create(5, 2, firstNodeId: 10);
        Assert.Equal([10u, 11, 12, 13, 14], p.Devices.Keys.Order().ToArray());
        Assert.Equal(5, p.Devices.Values.Select(d => d.Secret).Distinct().Count());
        // groups as VirtualFleet assigns them: round-robin from the first node
        Assert.Equal(1, p.Registry.Find("dev-10")!.GroupId);
        Assert.Equal(2, p.Registry.Find("dev-11")!.GroupId);
        Assert.Equal(1, p.Registry.Find("dev-14")!.GroupId);
        Assert.Equal(MqttRole.Gateway, p.Registry.Find(p.Gateway.Username)!.Role);
        Assert.Equal(MqttRole.Monitor, p.Registry.Find(p.Monitor.Username)!.Role);
        Assert.Null(p.ClientTls);
        Assert.Null(p.BrokerSecurity.Certificates);

        var o = p.Configure(Device(12));
        Assert.Equal("dev-12", o.MqttUser);
        Assert.Equal("dev-12", o.MqttClientId);
        Assert.Equal(p.Devices[12].Secret, o.MqttPassword);
        Assert.Throws<InvalidOperationException>(() => p.Configure(Device(99)));
        Assert.Equal("dev-99", Device(99).MqttClientId); // unprovisioned devices keep the old client id
    }

    [Fact]
    public void With_tls_clients_trust_the_fleets_ca_and_secrets_are_listed_for_log_checks()
    {
        using var p = FleetProvisioning.Create(2, 1, tls: true);
        Assert.NotNull(p.ClientTls);
        Assert.Same(p.Certificates!.Authority, p.ClientTls!.Authority);
        Assert.Same(p.ClientTls, p.Configure(Device(1)).MqttTls);
        Assert.Equal(4, p.Secrets().Distinct().Count());
    }
}
