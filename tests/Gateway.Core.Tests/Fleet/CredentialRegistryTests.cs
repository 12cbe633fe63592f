using IotOta.Gateway.Fleet;
using IotOta.Gateway.Security;

namespace IotOta.Gateway.Core.Tests.Fleet;

public class CredentialRegistryTests
{
    [Fact]
    public void Issues_each_device_its_own_username_and_secret_and_stores_only_a_hash()
    {
        var reg = new CredentialRegistry();
        var a = reg.IssueDevice(1, 1);
        var b = reg.IssueDevice(2, 1);
        Assert.Equal("dev-1", a.Username);
        Assert.Equal("dev-2", b.Username);
        Assert.NotEqual(a.Secret, b.Secret);
        Assert.True(a.Secret.Length >= 32);
        var stored = reg.Accounts();
        Assert.Equal(2, stored.Count);
        Assert.All(stored, s => Assert.StartsWith("$7$", s.Hash));
        Assert.DoesNotContain(stored, s => s.Hash.Contains(a.Secret) || s.Hash.Contains(b.Secret));
        Assert.Equal(MqttIdentity.Device(1, 1), reg.Authenticate("dev-1", a.Secret));
        Assert.Null(reg.Authenticate("dev-1", b.Secret));
        Assert.Null(reg.Authenticate("dev-2", a.Secret));
        Assert.Null(reg.Authenticate("dev-3", a.Secret));
        Assert.Null(reg.Authenticate(null, a.Secret));
    }

    [Fact]
    public void Reissuing_rotates_the_secret_and_revoking_removes_the_account()
    {
        var reg = new CredentialRegistry();
        int changes = 0;
        reg.Changed += () => changes++;
        var first = reg.IssueDevice(4, 2);
        var second = reg.IssueDevice(4, 3);
        Assert.Null(reg.Authenticate("dev-4", first.Secret));
        Assert.Equal(3, reg.Authenticate("dev-4", second.Secret)!.GroupId);
        Assert.True(reg.Revoke("dev-4"));
        Assert.False(reg.Revoke("dev-4"));
        Assert.Null(reg.Authenticate("dev-4", second.Secret));
        Assert.Equal(3, changes);
    }

    [Fact]
    public void A_credential_never_shows_its_secret_in_text()
    {
        var c = new CredentialRegistry().IssueGateway();
        Assert.DoesNotContain(c.Secret, c.ToString());
        Assert.Contains("iotota-gateway", c.ToString());
    }
}
