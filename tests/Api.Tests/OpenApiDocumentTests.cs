using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace IotOta.Api.Tests;

/// <summary>The OpenAPI document describes every request and response: each operation is exercised here, and every
/// answer (successes, problems, the event stream) is checked against the document; the security schemes are there
/// and every operation but health/login/logout requires one.</summary>
[Collection(ServerCollection.Name)]
public sealed class OpenApiDocumentTests(ServerFixture f)
{
    [Fact]
    public async Task Every_operation_answers_as_the_document_says()
    {
        string text = await f.Anonymous.GetStringAsync("/openapi/v1.json");
        await File.WriteAllTextAsync(Path.Combine(MetricsTests.Artifacts(), "openapi.json"), text);
        var doc = JsonNode.Parse(text)!;
        var c = new OpenApiConformance(doc);
        using var s = await ConsoleSession.LoginAsync(f.Server.Url, ServerFixture.User, ServerFixture.Password);
        async Task<JsonNode?> Call(HttpClient http, HttpMethod method, string path, string template, HttpContent? content = null, HttpRequestMessage? req = null)
        {
            var res = await http.SendAsync(req ?? new HttpRequestMessage(method, path) { Content = content });
            string body = await c.CheckAsync(res, method.Method, template);
            return body.Length > 0 && res.Content.Headers.ContentType?.MediaType?.Contains("json") == true ? JsonNode.Parse(body) : null;
        }
        var get = HttpMethod.Get;
        var post = HttpMethod.Post;

        await Call(f.Anonymous, get, "/api/health", "/api/health");
        await Call(f.Anonymous, post, "/api/login", "/api/login", JsonContent.Create(new { user = "x", password = "y" }));
        await Call(f.Anonymous, get, "/api/devices", "/api/devices"); // 401
        await Call(s.Http, get, "/api/me", "/api/me");
        await Call(s.Http, get, "/api/antiforgery", "/api/antiforgery");
        await Call(f.Http, get, "/api/status", "/api/status");
        await Call(f.Http, get, "/api/gateway", "/api/gateway"); // active or standby, and which instance is active (#20)
        await Call(f.Http, get, "/api/devices", "/api/devices");
        await Call(f.Http, get, "/api/devices/page?limit=2&group=1", "/api/devices/page");
        await Call(f.Http, get, "/api/devices/page?limit=0", "/api/devices/page");
        await Call(f.Http, get, "/api/groups", "/api/groups");
        await Call(f.Http, get, "/api/overheads", "/api/overheads");
        await Call(f.Http, get, "/api/audit?limit=5", "/api/audit");
        await Call(f.Http, get, "/api/audit?limit=-1", "/api/audit");
        await Call(f.Http, get, "/metrics", "/metrics");

        string version = f.NextVersion();
        var img = await Call(f.Http, post, "/api/images", "/api/images", ServerFixture.Form(ServerFixture.RandomImage(8192, 51), version));
        string imageId = (string)img!["id"]!;
        await Call(f.Http, post, "/api/images", "/api/images", ServerFixture.Form(ServerFixture.RandomImage(8192, 51), version)); // 409
        await Call(f.Http, post, "/api/images", "/api/images", ServerFixture.Form(ServerFixture.RandomImage(8192, 51), "x")); // 400
        await Call(f.Http, post, "/api/images", "/api/images", ServerFixture.Form(new byte[ServerFixture.MaxImageBytes + 1], "1.2.3")); // 413
        await Call(s.Http, post, "/api/images", "/api/images", req: s.Request(post, "/api/images", ServerFixture.Form(new byte[10], "1.2.3"), origin: "http://evil.example")); // 403
        await Call(f.Http, get, "/api/images", "/api/images");
        await Call(f.Http, get, $"/api/images/{imageId}", "/api/images/{id}");
        await Call(f.Http, get, "/api/images/nope", "/api/images/{id}");

        // A rollout aborted before it started: nulls and zeros where a finished one has figures.
        var early = await Call(f.Http, post, "/api/rollouts", "/api/rollouts", JsonContent.Create(new { imageId }));
        await Call(f.Http, post, $"/api/rollouts/{early!["id"]}/abort", "/api/rollouts/{id}/abort");
        await Call(f.Http, get, $"/api/rollouts/{early["id"]}", "/api/rollouts/{id}");
        var created = await Call(f.Http, post, "/api/rollouts", "/api/rollouts", JsonContent.Create(new { imageId, timeoutSeconds = 120 }));
        string id = (string)created!["id"]!;
        await Call(f.Http, post, "/api/rollouts", "/api/rollouts", JsonContent.Create(new { imageId = "nope" })); // 404
        await Call(f.Http, post, "/api/rollouts", "/api/rollouts", JsonContent.Create(new { imageId, groups = new[] { 99 } })); // 400
        await Call(f.Http, get, "/api/rollouts", "/api/rollouts");
        await Call(f.Http, get, $"/api/rollouts/{id}", "/api/rollouts/{id}");
        await Call(f.Http, get, "/api/rollouts/nope", "/api/rollouts/{id}");
        await Call(f.Http, post, $"/api/rollouts/{id}/pause", "/api/rollouts/{id}/pause"); // 409: not running
        await Call(f.Http, post, $"/api/rollouts/{id}/resume", "/api/rollouts/{id}/resume"); // 409
        await Call(f.Http, post, $"/api/rollouts/{id}/start", "/api/rollouts/{id}/start");
        await Call(f.Http, post, $"/api/rollouts/{id}/start", "/api/rollouts/{id}/start"); // 409
        await Call(f.Http, post, $"/api/rollouts/{id}/pause", "/api/rollouts/{id}/pause");
        await Call(f.Http, post, $"/api/rollouts/{id}/resume", "/api/rollouts/{id}/resume");
        await Call(f.Http, HttpMethod.Delete, $"/api/images/{imageId}", "/api/images/{id}"); // 409: in use
        var end = await f.WaitEndAsync(id, TimeSpan.FromSeconds(60));
        Assert.Equal("completed", (string)end["state"]!);
        // The stream of an ended rollout: one "end" event, checked against the document's event-stream schema.
        var events = await Call(f.Http, get, $"/api/rollouts/{id}/events", "/api/rollouts/{id}/events");
        Assert.Null(events);
        await Call(f.Http, get, "/api/rollouts/nope/events", "/api/rollouts/{id}/events");
        await Call(f.Http, post, $"/api/rollouts/{id}/abort", "/api/rollouts/{id}/abort"); // 409: ended
        await Call(f.Http, post, "/api/rollouts/nope/abort", "/api/rollouts/{id}/abort"); // 404
        await Call(f.Http, HttpMethod.Delete, $"/api/images/{imageId}", "/api/images/{id}");
        await Call(f.Http, HttpMethod.Delete, $"/api/images/{imageId}", "/api/images/{id}"); // 404
        await Call(s.Http, post, "/api/logout", "/api/logout", req: s.Request(post, "/api/logout"));

        var missing = c.Operations().Where(o => !c.Exercised.Contains(o)).ToList();
        Assert.True(missing.Count == 0, $"operations never exercised: {string.Join(", ", missing)}");
    }

    [Fact]
    public async Task The_document_names_its_security_schemes_and_where_they_apply()
    {
        var doc = JsonNode.Parse(await f.Anonymous.GetStringAsync("/openapi/v1.json"))!;
        var schemes = doc["components"]!["securitySchemes"]!.AsObject();
        Assert.Equal("basic", (string)schemes["basic"]!["scheme"]!);
        Assert.Equal("cookie", (string)schemes["sessionCookie"]!["in"]!);
        string[] open = ["GET /api/health", "POST /api/login", "POST /api/logout"];
        foreach (var (path, item) in doc["paths"]!.AsObject())
            foreach (var (method, op) in item!.AsObject())
            {
                string key = $"{method.ToUpperInvariant()} {path}";
                bool secured = op!["security"] is JsonArray { Count: > 0 };
                Assert.True(secured != open.Contains(key), $"{key}: security {(secured ? "listed" : "missing")}");
                Assert.True(op["responses"]!.AsObject().Count > 0, $"{key} lists no response");
                if (method is "post" or "delete" && !open.Contains(key)) Assert.True(op["responses"]!["403"] != null, $"{key} does not list 403 (cross-origin)");
            }
        var upload = doc["paths"]!["/api/images"]!["post"]!["requestBody"]!["content"]!["multipart/form-data"]!["schema"]!;
        Assert.Equal(["file", "version", "board"], upload["properties"]!.AsObject().Select(p => p.Key));
        var events = doc["paths"]!["/api/rollouts/{id}/events"]!["get"]!;
        Assert.NotNull(events["responses"]!["200"]!["content"]!["text/event-stream"]);
        Assert.NotNull(doc["paths"]!["/api/rollouts"]!["post"]!["responses"]!["201"]);
    }
}
