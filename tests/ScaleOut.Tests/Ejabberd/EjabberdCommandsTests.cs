using IotOta.Gateway.Mqtt;
using System.Diagnostics;
using System.Security.Cryptography;
using IotOta.FaultSuite.Fleet;
using IotOta.TestSupport;
using Xunit.Abstractions;

namespace IotOta.ScaleOut.Tests.Ejabberd;

/// <summary>The `fleet` and `rollout` commands as separate processes on ejabberd, every broker setting from the
/// environment (IotOta__Mqtt__…): no --broker, no password on any command line, and no password in any output.</summary>
public sealed class EjabberdCommandsTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Fleet_and_rollout_commands_take_endpoints_and_credentials_from_the_environment()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        await using var node = await EjabberdNode.StartAsync(ct: cts.Token);
        const int devices = 6;
        string gatewayPassword = "gw-pass-" + Guid.NewGuid().ToString("N")[..10];
        await node.RegisterAsync([("gateway", gatewayPassword), .. Enumerable.Range(1, devices).Select(i => ($"dev-{i}", $"dev-pass-{i}-x"))], cts.Token);
        using var dir = new TempDir("iotota-cmd-");
        using (var key = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            File.WriteAllText(dir.File("signing.pem"), key.ExportPkcs8PrivateKeyPem());
            File.WriteAllText(dir.File("trust.pem"), key.ExportSubjectPublicKeyInfoPem());
        }
        File.WriteAllText(dir.File("gateway.pw"), gatewayPassword + "\n");
        var image = new byte[96 * 1024];
        new Random(5).NextBytes(image);
        File.WriteAllBytes(dir.File("fw.bin"), image);
        var env = new Dictionary<string, string>
        {
            ["IotOta__Mqtt__Endpoints"] = $"{node.Host}:{node.Port}",
            ["IotOta__Mqtt__Username"] = "gateway",
            ["IotOta__Mqtt__PasswordFile"] = dir.File("gateway.pw"),
            ["IotOta__Mqtt__Devices__UsernamePattern"] = "dev-{id}",
            ["IotOta__Mqtt__Devices__PasswordPattern"] = "dev-pass-{id}-x",
        };

        using var fleet = GatewayProcess.Start(["fleet", "--trust", dir.File("trust.pem"), "--devices", $"{devices}", "--groups", "2", "--data-dir", dir.File("fleet")], env);
        using var rollout = GatewayProcess.Start(["rollout", "--image", dir.File("fw.bin"), "--key", dir.File("signing.pem"), "--version", "2.0.0",
            "--devices", $"{devices}", "--chunk-size", "2048", "--timeout-seconds", "120"], env, "IotOta.Gateway.dll");
        var sw = Stopwatch.StartNew();
        while (!rollout.HasExited && sw.Elapsed < TimeSpan.FromMinutes(3)) await Task.Delay(100, cts.Token);
        output.WriteLine("--- rollout\n" + rollout.Log + "\n--- fleet\n" + fleet.Log);
        Assert.True(rollout.HasExited, "the rollout command did not end");
        Assert.Equal(0, rollout.ExitCode);
        Assert.Contains($"{devices}/{devices} updated, 0 failed", rollout.Log);
        Assert.Contains($"{devices} virtual devices", fleet.Log);
        Assert.Contains("password set", fleet.Log);
        Assert.DoesNotContain(gatewayPassword, rollout.Log + fleet.Log);
        Assert.DoesNotContain("dev-pass-", rollout.Log + fleet.Log);
        Assert.False(fleet.HasExited, fleet.Log);
    }
}
