using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace IotOta.Api.Tests;

/// <summary>The rollout start request's phase and health fields through the REST API (6 devices in 3 groups).</summary>
[Collection(ServerCollection.Name)]
public sealed class RolloutHealthApiTests(ServerFixture f)
{
    [Fact]
    public async Task A_canary_count_and_percentages_run_as_phases_and_the_view_shows_the_gate()
    {
        string version = f.NextVersion();
        await f.UploadAsync(48 * 1024, version, 21);
        var r = await f.CreateAsync(new { imageId = version, canaryCount = 2, percentages = new[] { 50, 100 }, successThreshold = 1.0, installTimeoutSeconds = 120 });
        Assert.Equal(3, r["phasePlan"]!.AsArray().Count);
        Assert.Equal("canary", (string)r["phasePlan"]![0]!["name"]!);
        Assert.Equal(2, r["phasePlan"]![0]!["devices"]!.AsArray().Count);
        var v = await f.WaitEndAsync((string)r["id"]!, TimeSpan.FromSeconds(60));
        Assert.Equal("completed", (string)v["state"]!);
        Assert.Equal(2, (int)v["phase"]!);
        Assert.Equal(6, (int)v["updated"]!);
        var health = v["snapshot"]!["health"]!;
        Assert.True((bool)health["phasePassed"]!);
        Assert.Equal(0, (int)health["failedTotal"]!);
    }

    [Fact]
    public async Task Bad_phase_plans_and_thresholds_are_refused_with_a_reason()
    {
        string version = "7.8." + Random.Shared.Next(1000, 60000);
        await f.UploadAsync(1000, version, 22);
        async Task<string> Refused(object body)
        {
            var resp = await f.Http.PostAsJsonAsync("/api/rollouts", body);
            Assert.Equal(HttpStatusCode.BadRequest, resp.StatusCode);
            return (string)JsonNode.Parse(await resp.Content.ReadAsStringAsync())!["detail"]!;
        }
        Assert.Contains("grow", await Refused(new { imageId = version, percentages = new[] { 50, 10, 100 } }));
        Assert.Contains("end at 100", await Refused(new { imageId = version, percentages = new[] { 10, 50 } }));
        Assert.Contains("one canary", await Refused(new { imageId = version, canaryCount = 1, canaryGroups = 1 }));
        Assert.Contains("999", await Refused(new { imageId = version, canaryDevices = new[] { 999 } }));
        Assert.Contains("successThreshold", await Refused(new { imageId = version, successThreshold = 0.0 }));
        Assert.Contains("successThreshold", await Refused(new { imageId = version, successThreshold = 1.5 }));
        Assert.Contains("installTimeoutSeconds", await Refused(new { imageId = version, installTimeoutSeconds = 0 }));
    }
}
