using IotOta.FaultSuite.Fleet;
using Xunit.Abstractions;

namespace IotOta.FleetFaults.Tests;

/// <summary>The security scenarios at small scale against a real Mosquitto with the generated password_file and
/// acl_file: 6 devices in 3 groups (plus one rogue account), a 160 KiB image.</summary>
public sealed class SecurityScenarioTests(ITestOutputHelper output)
{
    private static readonly FleetScenarioOptions Small = new()
    {
        Devices = 6,
        Groups = 3,
        ImageSize = 160 * 1024,
        GatewayUpBytesPerSecond = 200_000,
        FaultAt = 0.4,
        Timeout = TimeSpan.FromSeconds(60),
    };

    [Fact]
    public async Task Another_devices_identity_is_refused_by_the_broker_and_the_rollout_completes()
    {
        var r = await FleetFaultSuite.RunAsync(ImpersonationScenario.Name, Small, output.WriteLine, CancellationToken.None);
        output.WriteLine(r.Detail);
        Assert.True(r.Completed, r.Detail);
        Assert.Equal(Small.Devices, r.Updated);
        Assert.True(r.Refused, r.Detail);
        Assert.Equal(true, r.ToJson()["refused"]);
        Assert.Contains("connect as dev-2 with the rogue's own secret: refused (CONNACK", r.Detail);
        Assert.Matches(@"dev-2 connects (\d+) -> \1, connected True", r.Detail);
        Assert.Contains("monitor saw the rogue's own publish: True", r.Detail);
        Assert.DoesNotContain("NOT REFUSED", r.Detail);
    }

    [Fact]
    public async Task A_device_publishing_on_gateway_topics_is_refused_by_the_broker_and_the_rollout_completes()
    {
        var r = await FleetFaultSuite.RunAsync(GatewayTopicScenario.Name, Small, output.WriteLine, CancellationToken.None);
        output.WriteLine(r.Detail);
        Assert.True(r.Completed, r.Detail);
        Assert.Equal(Small.Devices, r.Updated);
        Assert.True(r.Refused, r.Detail);
        Assert.Contains("forged manifest on group 1 (QoS 1, retained): refused", r.Detail);
        Assert.Contains("manifest intact True, member list intact True", r.Detail);
        Assert.Contains("probe to dev-2 reached the monitor True", r.Detail);
        Assert.DoesNotContain("NOT REFUSED", r.Detail);
    }

    [Fact]
    public void Non_security_scenarios_have_no_refused_field_in_json()
    {
        var r = new FleetScenarioResult("churn", true, 0, 1, 0, 1, 1, 1, "");
        Assert.False(r.ToJson().ContainsKey("refused"));
        Assert.Equal(false, (r with { Refused = false }).ToJson()["refused"]);
    }
}
