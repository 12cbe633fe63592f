using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace IotOta.Api.Tests;

/// <summary>Starting a rollout while one runs creates nothing; event streams are capped per client; the history keeps
/// the counts a rollout had when it ended.</summary>
[Collection(ServerCollection.Name)]
public sealed class RolloutConcurrencyTests(ServerFixture f)
{
    [Fact]
    public async Task Parallel_starts_create_one_rollout_and_streams_are_capped_per_client()
    {
        string version = f.NextVersion();
        await f.UploadAsync(400 * 1024, version, 31);
        int before = (await f.GetAsync("/api/rollouts")).AsArray().Count;
        // The probe: six parallel ?start=true.
        var answers = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => f.Http.PostAsJsonAsync("/api/rollouts?start=true", new { imageId = version })));
        Assert.Single(answers, a => a.StatusCode == HttpStatusCode.Created);
        Assert.All(answers.Where(a => a.StatusCode != HttpStatusCode.Created), a => Assert.Equal(HttpStatusCode.Conflict, a.StatusCode));
        var all = (await f.GetAsync("/api/rollouts")).AsArray();
        Assert.Equal(before + 1, all.Count);
        string id = (string)JsonNode.Parse(await answers.Single(a => a.StatusCode == HttpStatusCode.Created).Content.ReadAsStringAsync())!["id"]!;
        Assert.Equal("paused", (string)JsonNode.Parse(await (await f.Http.PostAsync($"/api/rollouts/{id}/pause", null)).Content.ReadAsStringAsync())!["state"]!);
        var streams = new List<HttpResponseMessage>();
        try
        {
            for (int i = 0; i < 4; i++)
            {
                var s = await f.Http.GetAsync($"/api/rollouts/{id}/events", HttpCompletionOption.ResponseHeadersRead);
                Assert.Equal(HttpStatusCode.OK, s.StatusCode);
                streams.Add(s);
            }
            var fifth = await f.Http.GetAsync($"/api/rollouts/{id}/events", HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.TooManyRequests, fifth.StatusCode);
            Assert.Contains("event streams open", (string)JsonNode.Parse(await fifth.Content.ReadAsStringAsync())!["detail"]!);
            // Closing one frees a place.
            streams[0].Dispose();
            streams.RemoveAt(0);
            HttpResponseMessage again = null!;
            for (int i = 0; i < 50; i++)
            {
                again = await f.Http.GetAsync($"/api/rollouts/{id}/events", HttpCompletionOption.ResponseHeadersRead);
                if (again.StatusCode == HttpStatusCode.OK) break;
                await Task.Delay(100);
            }
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
            streams.Add(again);
        }
        finally
        {
            foreach (var s in streams) s.Dispose();
            await f.Http.PostAsync($"/api/rollouts/{id}/abort", null);
            await f.WaitEndAsync(id, TimeSpan.FromSeconds(30));
        }
    }

    [Fact]
    public async Task History_keeps_the_counts_a_rollout_had_when_it_ended()
    {
        string v1 = f.NextVersion();
        await f.UploadAsync(32 * 1024, v1, 41);
        string first = (string)(await f.CreateAsync(new { imageId = v1 }))["id"]!;
        var end1 = await f.WaitEndAsync(first, TimeSpan.FromSeconds(60));
        Assert.Equal("completed", (string)end1["state"]!);
        Assert.Equal(6, (int)end1["updated"]!);
        // The fleet moves on to a later version: the first rollout still reads 6/6 updated.
        string v2 = f.NextVersion();
        await f.UploadAsync(32 * 1024, v2, 42);
        string second = (string)(await f.CreateAsync(new { imageId = v2 }))["id"]!;
        Assert.Equal("completed", (string)(await f.WaitEndAsync(second, TimeSpan.FromSeconds(60)))["state"]!);
        var again = await f.GetAsync($"/api/rollouts/{first}");
        Assert.Equal(6, (int)again["updated"]!);
        Assert.Equal(6, (int)again["devices"]!);
        Assert.Equal(100.0, (double)again["percent"]!);
        var listed = (await f.GetAsync("/api/rollouts")).AsArray().Single(r => (string)r!["id"]! == first)!;
        Assert.Equal(6, (int)listed["updated"]!);
    }
}
