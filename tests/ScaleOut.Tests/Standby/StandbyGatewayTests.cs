using System.Text.RegularExpressions;
using IotOta.FaultSuite.Fleet;
using IotOta.TestSupport;
using Xunit.Abstractions;

namespace IotOta.ScaleOut.Tests.Standby;

/// <summary>
/// Two `serve` processes on one PostgreSQL database: the first holds the lease, the second waits as a standby (its
/// GET /api/gateway names the active one). The active one is SIGKILLed mid-rollout; the standby takes over within 10 s
/// and the rollout runs to the end with at most 1 % of the image sent again.
/// </summary>
public sealed class StandbyGatewayTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Standby_takes_over_within_10_s_of_a_kill_9_and_the_rollout_completes_resending_at_most_1_percent()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await using var pg = await PostgresServer.StartAsync(cts.Token);
        string database = await pg.CreateDatabaseAsync(cts.Token);
        var o = GatewayKill9Scenario.SmallOptions;
        var r = await GatewayKill9Scenario.RunAsync(o, output.WriteLine, cts.Token, pg.ConnectionString(database));
        output.WriteLine($"{r.Name}: completed={r.Completed} updated={r.Updated}/{r.Devices} resent={r.ResentBytes} image={r.ImageBytes} " +
                         $"recovery={r.RecoverySeconds:0.00}s received={r.GatewayPayloadBytes} {r.Detail}");
        Assert.Equal("gateway-standby", r.Name);
        Assert.Contains("killed with SIGKILL (exit code 137)", r.Detail);
        // Before the kill the standby named the active instance; after it, it answered "active" itself.
        Assert.Matches(@"\(role standby, instance [^,]+, active [^ ]+ at http://127\.0\.0\.1:\d+\)", r.Detail);
        var takeover = Regex.Match(r.Detail, @"answered role active, .*? ([0-9.]+) s after the kill");
        Assert.True(takeover.Success, r.Detail);
        double seconds = double.Parse(takeover.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(seconds <= 10, $"takeover took {seconds} s: {r.Detail}");
        Assert.True(r.Completed, r.Detail);
        Assert.Equal(r.Devices, r.Updated);
        Assert.True(r.ResentBytes <= r.ImageBytes / 100, $"resent {r.ResentBytes} of {r.ImageBytes}: {r.Detail}");
        Assert.InRange(r.GatewayPayloadBytes, 1, r.ImageBytes - 1);
    }
}
