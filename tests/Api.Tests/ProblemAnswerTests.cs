using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace IotOta.Api.Tests;

/// <summary>Every 4xx is a problem with a detail the console can show; no input reaches a 500.</summary>
[Collection(ServerCollection.Name)]
public sealed class ProblemAnswerTests(ServerFixture f)
{
    public static TheoryData<string, string, string?, string, int, string> BadRequests => new()
    {
        // method, path, content type, body, status, what the detail must name
        { "POST", "/api/rollouts", "application/json", "{\"imageId\": \"x\", \"timeoutSeconds\": 99999999999}", 400, "timeoutSeconds" },
        { "POST", "/api/rollouts", "application/json", "{\"imageId\": \"x\", \"timeoutSeconds\": \"60\"}", 400, "timeoutSeconds" },
        { "POST", "/api/rollouts", "application/json", "{\"imageId\": ", 400, "JSON" },
        { "POST", "/api/rollouts", "application/json", "[1,2]", 400, "JSON" },
        { "POST", "/api/rollouts", "application/json", "", 400, "body" },
        { "POST", "/api/rollouts", "text/plain", "hello", 415, "content type" },
        { "POST", "/api/rollouts", "application/json", "{\"imageId\": \"none-such\"}", 404, "none-such" },
        { "POST", "/api/rollouts?start=maybe", "application/json", "{\"imageId\": \"x\"}", 400, "start" },
        { "POST", "/api/images", "multipart/form-data; boundary=xyz", "--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nabc", 400, "multipart" },
        { "POST", "/api/images", "multipart/form-data", "no boundary at all", 400, "boundary" },
        { "GET", "/api/devices/page?limit=0", null, "", 400, "limit" },
        { "GET", "/api/devices/page?offset=abc", null, "", 400, "offset" },
        { "GET", "/api/audit?limit=100000", null, "", 400, "limit" },
        { "GET", "/api/rollouts/nothing", null, "", 404, "nothing" },
        { "GET", "/api/no-such-endpoint", null, "", 404, "/api/no-such-endpoint" },
        { "PUT", "/api/images", "application/json", "{}", 405, "PUT" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Bad_input_gets_a_problem_with_a_detail(string method, string path, string? contentType, string body, int status, string named)
    {
        var req = new HttpRequestMessage(new HttpMethod(method), path);
        if (contentType != null)
        {
            req.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
            req.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }
        var res = await f.Http.SendAsync(req);
        string text = await res.Content.ReadAsStringAsync();
        Assert.True(status == (int)res.StatusCode, $"{method} {path}: {(int)res.StatusCode} {text}");
        Assert.Equal("application/problem+json", res.Content.Headers.ContentType?.MediaType);
        var p = JsonNode.Parse(text)!;
        Assert.Equal(status, (int)p["status"]!);
        Assert.False(string.IsNullOrWhiteSpace((string?)p["title"]));
        string detail = (string?)p["detail"] ?? "";
        Assert.Contains(named, detail, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Random_garbage_never_reaches_a_500()
    {
        var rng = new Random(19);
        string[] paths = ["/api/rollouts", "/api/rollouts?start=true", "/api/images", "/api/login", "/api/rollouts/r1/pause"];
        string[] types = ["application/json", "multipart/form-data; boundary=b", "application/x-www-form-urlencoded", "application/octet-stream"];
        for (int i = 0; i < 60; i++)
        {
            var bytes = new byte[rng.Next(0, 300)];
            rng.NextBytes(bytes);
            if (i % 3 == 0) bytes = Encoding.UTF8.GetBytes("{\"imageId\":" + new string('[', rng.Next(1, 80)));
            var req = new HttpRequestMessage(HttpMethod.Post, paths[i % paths.Length]) { Content = new ByteArrayContent(bytes) };
            req.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(types[i % types.Length]);
            var res = await f.Http.SendAsync(req);
            Assert.True((int)res.StatusCode < 500, $"case {i}: {(int)res.StatusCode} {await res.Content.ReadAsStringAsync()}");
            if ((int)res.StatusCode >= 400)
                Assert.False(string.IsNullOrWhiteSpace((string?)JsonNode.Parse(await res.Content.ReadAsStringAsync())!["detail"]), $"case {i}: no detail");
        }
    }
}
