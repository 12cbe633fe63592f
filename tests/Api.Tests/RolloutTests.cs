using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace IotOta.Api.Tests;

[Collection(ServerCollection.Name)]
public sealed class RolloutTests(ServerFixture f)
{
    [Fact]
    public async Task A_rollout_reaches_every_device_with_progress_per_group_and_device()
    {
        string version = f.NextVersion();
        var img = await f.UploadAsync(64 * 1024, version, 11);
        var r = await f.CreateAsync(new { imageId = version });
        Assert.Equal("running", (string)r["state"]!);
        var v = await f.WaitEndAsync((string)r["id"]!, TimeSpan.FromSeconds(60));
        Assert.Equal("completed", (string)v["state"]!);
        Assert.Equal(100.0, (double)v["percent"]!);
        Assert.Equal(6, (int)v["updated"]!);
        Assert.Equal(3, v["groupProgress"]!.AsArray().Count);
        Assert.All(v["groupProgress"]!.AsArray(), g => Assert.Equal(100.0, (double)g!["percent"]!));
        Assert.All(v["deviceProgress"]!.AsArray(), d => Assert.True((bool)d!["updated"]!));
        // The gateway sent each packet about once for the whole fleet; the fleet's links did the rest.
        long gw = (long)v["gatewayPayloadBytes"]!, image = (long)v["imageBytes"]!;
        Assert.True(gw >= image && gw <= 1.1 * image, $"gateway sent {gw} bytes for a {image}-byte image");
        Assert.True((double)v["boundSeconds"]! > 0);
        // The broker's own count of the rollout (embedded broker's interceptors): data apart from control.
        var broker = v["broker"]!;
        Assert.True((long)broker["dataSent"]! >= image, $"broker data sent {broker["dataSent"]} < image {image}");
        Assert.True((long)broker["controlSent"]! > 0 && (long)broker["received"]! > 0);
        Assert.Equal((long)broker["sent"]!, (long)broker["dataSent"]! + (long)broker["controlSent"]!);
        var devices = (await f.GetAsync("/api/devices")).AsArray();
        Assert.All(devices, d => Assert.Equal(version, (string)d!["version"]!));
        Assert.Contains(devices, d => d!["overhead"] is JsonObject o && (long)o["notices"]! > 0);
        // The image cannot start again, and a finished rollout cannot pause.
        Assert.Equal(HttpStatusCode.Conflict, (await f.Http.PostAsync($"/api/rollouts/{r["id"]}/start", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await f.Http.PostAsync($"/api/rollouts/{r["id"]}/pause", null)).StatusCode);
        Assert.Equal(version, (string)img["version"]!);
    }

    [Fact]
    public async Task Pause_stops_sending_and_resume_finishes()
    {
        string version = f.NextVersion();
        await f.UploadAsync(512 * 1024, version, 12);
        var r = await f.CreateAsync(new { imageId = version });
        string id = (string)r["id"]!;
        var paused = JsonNode.Parse(await (await f.Http.PostAsync($"/api/rollouts/{id}/pause", null)).Content.ReadAsStringAsync())!;
        Assert.Equal("paused", (string)paused["state"]!);
        Assert.Equal(HttpStatusCode.Conflict, (await f.Http.PostAsync($"/api/rollouts/{id}/pause", null)).StatusCode);
        await Task.Delay(400); // what was being published when the pause came has gone out
        long before = (long)(await f.GetAsync($"/api/rollouts/{id}"))["gatewayPayloadBytes"]!;
        await Task.Delay(800);
        var during = await f.GetAsync($"/api/rollouts/{id}");
        Assert.Equal("paused", (string)during["state"]!);
        Assert.Equal(before, (long)during["gatewayPayloadBytes"]!);
        Assert.True(before < (long)during["imageBytes"]!, $"paused at {before} bytes: the image had gone out before the pause");
        var resumed = await f.Http.PostAsync($"/api/rollouts/{id}/resume", null);
        Assert.Equal(HttpStatusCode.OK, resumed.StatusCode);
        var v = await f.WaitEndAsync(id, TimeSpan.FromSeconds(90));
        Assert.Equal("completed", (string)v["state"]!);
        Assert.Equal(6, (int)v["updated"]!);
    }

    [Fact]
    public async Task Abort_ends_the_rollout_and_a_later_one_still_completes()
    {
        string version = f.NextVersion();
        await f.UploadAsync(512 * 1024, version, 13);
        var r = await f.CreateAsync(new { imageId = version });
        string id = (string)r["id"]!;
        await Task.Delay(150);
        Assert.Equal(HttpStatusCode.OK, (await f.Http.PostAsync($"/api/rollouts/{id}/abort", null)).StatusCode);
        var v = await f.WaitEndAsync(id, TimeSpan.FromSeconds(20));
        Assert.Equal("aborted", (string)v["state"]!);
        Assert.True((int)v["updated"]! < 6);
        Assert.Equal(HttpStatusCode.Conflict, (await f.Http.PostAsync($"/api/rollouts/{id}/resume", null)).StatusCode);

        string next = f.NextVersion();
        await f.UploadAsync(32 * 1024, next, 14);
        var r2 = await f.CreateAsync(new { imageId = next });
        var v2 = await f.WaitEndAsync((string)r2["id"]!, TimeSpan.FromSeconds(60));
        Assert.Equal("completed", (string)v2["state"]!);
    }

    [Fact]
    public async Task Canary_phase_runs_first_then_the_rest()
    {
        string version = f.NextVersion();
        await f.UploadAsync(48 * 1024, version, 15);
        var r = await f.CreateAsync(new { imageId = version, canaryGroups = 1 });
        Assert.Equal("[[1],[2,3]]", r["phases"]!.ToJsonString());
        var v = await f.WaitEndAsync((string)r["id"]!, TimeSpan.FromSeconds(60));
        Assert.Equal("completed", (string)v["state"]!);
        Assert.Equal(1, (int)v["phase"]!);
        Assert.Equal(6, (int)v["updated"]!);
    }

    [Fact]
    public async Task Event_stream_delivers_progress_until_the_end()
    {
        string version = f.NextVersion();
        await f.UploadAsync(256 * 1024, version, 16);
        var r = await f.CreateAsync(new { imageId = version });
        using var req = new HttpRequestMessage(HttpMethod.Get, $"/api/rollouts/{r["id"]}/events");
        using var res = await f.Http.SendAsync(req, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", res.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await res.Content.ReadAsStreamAsync());
        var events = new List<(string Event, JsonNode Data)>();
        string? ev = null;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (await reader.ReadLineAsync(cts.Token) is { } line)
        {
            if (line.StartsWith("event: ")) ev = line[7..];
            else if (line.StartsWith("data: ")) events.Add((ev!, JsonNode.Parse(line[6..])!));
        }
        Assert.True(events.Count >= 2, $"only {events.Count} events");
        Assert.Equal("end", events[^1].Event);
        Assert.Equal("completed", (string)events[^1].Data["state"]!);
        Assert.All(events[..^1], e => Assert.Equal("progress", e.Event));
        // Progress events carry the engine's RolloutSnapshot once it reports.
        Assert.Contains(events, e => e.Data["snapshot"] is JsonObject s && (long)s["imageBytes"]! == 256 * 1024);
        Assert.Contains(events, e => e.Data["recentOrders"]!.AsArray().Count > 0 && e.Data["intermediates"]!.AsArray().Count > 0);
        var percents = events.Select(e => (double)e.Data["percent"]!).ToList();
        Assert.Equal(percents.Order(), percents);
    }

    [Fact]
    public async Task Bad_rollout_requests_are_refused()
    {
        var missing = await f.Http.PostAsJsonAsync("/api/rollouts", new { imageId = "nope" });
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        string version = "7.7." + Random.Shared.Next(1000, 60000);
        await f.UploadAsync(1000, version, 17);
        Assert.Equal(HttpStatusCode.BadRequest, (await f.Http.PostAsJsonAsync("/api/rollouts", new { imageId = version, groups = new[] { 99 } })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await f.Http.PostAsJsonAsync("/api/rollouts", new { imageId = version, canaryGroups = 3 })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await f.Http.GetAsync("/api/rollouts/r999")).StatusCode);
        // Created but not started: abort is allowed, then start is not.
        var r = await f.CreateAsync(new { imageId = version }, start: false);
        Assert.Equal("created", (string)r["state"]!);
        Assert.Equal(HttpStatusCode.OK, (await f.Http.PostAsync($"/api/rollouts/{r["id"]}/abort", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await f.Http.PostAsync($"/api/rollouts/{r["id"]}/start", null)).StatusCode);
    }
}
