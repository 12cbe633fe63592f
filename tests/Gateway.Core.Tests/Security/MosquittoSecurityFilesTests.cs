using IotOta.Gateway.Fleet;
using IotOta.Gateway.Security;

namespace IotOta.Gateway.Core.Tests.Security;

public class MosquittoSecurityFilesTests
{
    [Fact]
    public void The_password_file_holds_one_hash_per_account_and_no_secret()
    {
        var reg = new CredentialRegistry();
        var gw = reg.IssueGateway();
        var d1 = reg.IssueDevice(1, 1);
        var d2 = reg.IssueDevice(2, 2);
        string file = MosquittoSecurityFiles.PasswordFile(reg);
        string[] lines = file.TrimEnd('\n').Split('\n');
        Assert.Equal(["dev-1", "dev-2", "iotota-gateway"], lines.Select(l => l[..l.IndexOf(':')]).ToArray());
        foreach (var l in lines) Assert.Matches(@"^[^:]+:\$7\$101\$[A-Za-z0-9+/=]{16}\$[A-Za-z0-9+/=]{88}$", l);
        foreach (var c in new[] { gw, d1, d2 }) Assert.DoesNotContain(c.Secret, file);
        Assert.True(PasswordHash.Verify(d2.Secret, lines[1][(lines[1].IndexOf(':') + 1)..]));
    }

    [Fact]
    public void The_acl_file_lists_each_accounts_grants_from_TopicAcl()
    {
        var reg = new CredentialRegistry();
        reg.IssueGateway();
        reg.IssueDevice(7, 3);
        string acl = MosquittoSecurityFiles.AclFile(reg);
        Assert.Contains("\nuser dev-7\ntopic write iotota/dev/7/out\ntopic write iotota/dev/7/status\ntopic read iotota/dev/7/in\n" +
                        "topic read iotota/grp/3/manifest\ntopic read iotota/grp/3/members\n", acl);
        Assert.Contains("\nuser iotota-gateway\ntopic write iotota/dev/+/in\ntopic write iotota/grp/+/manifest\ntopic write iotota/grp/+/members\n", acl);
        Assert.DoesNotContain("pattern", acl);
        // every topic line in the file is a grant of the section's identity
        int grants = reg.Accounts().Sum(a => TopicAcl.Grants(a.Identity).Count);
        Assert.Equal(grants, acl.Split('\n').Count(l => l.StartsWith("topic ")));
    }

    [Fact]
    public void The_broker_config_refuses_anonymous_clients_and_pins_client_ids()
    {
        string conf = MosquittoSecurityFiles.BrokerConfig("/x/pw", "/x/acl");
        Assert.Contains("allow_anonymous false\n", conf);
        Assert.Contains("use_username_as_clientid true\n", conf);
        Assert.Contains("password_file /x/pw\n", conf);
        Assert.Contains("acl_file /x/acl\n", conf);
    }
}
