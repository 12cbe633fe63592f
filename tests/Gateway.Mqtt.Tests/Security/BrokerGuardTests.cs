using IotOta.Gateway.Fleet;
using IotOta.Gateway.Security;
using MQTTnet.Protocol;

namespace IotOta.Gateway.Mqtt.Tests.Security;

public class BrokerGuardTests
{
    [Fact]
    public void Connect_needs_the_accounts_own_secret_and_client_id_equal_to_username()
    {
        var reg = new CredentialRegistry();
        var d1 = reg.IssueDevice(1, 1);
        var d2 = reg.IssueDevice(2, 1);
        var guard = new BrokerGuard(reg);
        Assert.Equal(MqttConnectReasonCode.Success, guard.CheckConnect("dev-1", "dev-1", d1.Secret));
        // another device's identity with its own secret, or a wrong one
        Assert.Equal(MqttConnectReasonCode.BadUserNameOrPassword, guard.CheckConnect("dev-2", "dev-2", d1.Secret));
        Assert.Equal(MqttConnectReasonCode.BadUserNameOrPassword, guard.CheckConnect("dev-2", "dev-2", "guess"));
        Assert.Equal(MqttConnectReasonCode.BadUserNameOrPassword, guard.CheckConnect("dev-1", null, null));
        Assert.Equal(MqttConnectReasonCode.BadUserNameOrPassword, guard.CheckConnect("dev-9", "dev-9", d1.Secret));
        // its own account but another device's client id (a session takeover)
        Assert.Equal(MqttConnectReasonCode.ClientIdentifierNotValid, guard.CheckConnect("dev-2", "dev-1", d1.Secret));
        Assert.Equal(MqttConnectReasonCode.Success, guard.CheckConnect("dev-2", "dev-2", d2.Secret));
    }
}
