using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace IotOta.Api.Tests;

/// <summary>No forged request changes anything: a foreign Origin or a same-site/cross-site Sec-Fetch-Site is refused on
/// every state-changing endpoint, the session cookie alone is not enough (antiforgery token), basic auth (the CLI)
/// works as before, and the console's answers carry the security headers.</summary>
[Collection(ServerCollection.Name)]
public sealed class ForgeryTests(ServerFixture f)
{
    /// <summary>Every state-changing endpoint the OpenAPI document lists, with a concrete path.</summary>
    private async Task<List<(HttpMethod Method, string Path)>> StateChangingAsync()
    {
        var doc = JsonNode.Parse(await f.Anonymous.GetStringAsync("/openapi/v1.json"))!;
        var list = new List<(HttpMethod, string)>();
        foreach (var (path, item) in doc["paths"]!.AsObject())
            foreach (var (method, _) in item!.AsObject())
                if (method is not ("get" or "head" or "options"))
                    list.Add((new HttpMethod(method.ToUpperInvariant()), System.Text.RegularExpressions.Regex.Replace(path, @"\{[^}]+\}", "r999")));
        return list;
    }

    [Fact]
    public async Task A_foreign_origin_or_a_same_site_page_is_refused_on_every_state_changing_endpoint()
    {
        using var s = await ConsoleSession.LoginAsync(f.Server.Url, ServerFixture.User, ServerFixture.Password);
        var endpoints = await StateChangingAsync();
        Assert.True(endpoints.Count >= 9, $"only {endpoints.Count} state-changing endpoints");
        int before = (await f.GetAsync("/api/images")).AsArray().Count;
        foreach (var (method, path) in endpoints)
        {
            foreach (var (origin, site) in new (string?, string?)[] { ("http://evil.example", null), (null, "same-site"), (null, "cross-site"), ("http://127.0.0.1:1", "same-site") })
            {
                // With a valid session and even the right token: the browser's own headers give the forgery away.
                var res = await s.SendAsync(s.Request(method, path, ServerFixture.Form(new byte[64], "9.9.9"), token: true, origin, site));
                Assert.True(res.StatusCode == HttpStatusCode.Forbidden, $"{method} {path} from {origin ?? site} answered {(int)res.StatusCode}");
                var problem = JsonNode.Parse(await res.Content.ReadAsStringAsync())!;
                Assert.Equal("Cross-origin request refused", (string)problem["title"]!);
                Assert.False(string.IsNullOrEmpty((string?)problem["detail"]));
            }
        }
        // The issue's probe: a form POST to abort from another origin.
        var abort = await s.SendAsync(s.Request(HttpMethod.Post, "/api/rollouts/r1/abort", new FormUrlEncodedContent([]), token: false, origin: "http://evil.example"));
        Assert.Equal(HttpStatusCode.Forbidden, abort.StatusCode);
        Assert.Equal(before, (await f.GetAsync("/api/images")).AsArray().Count);
        var audit = await f.GetAsync("/api/audit?limit=500");
        Assert.Contains(audit["items"]!.AsArray(), e => (string)e!["action"]! == "request.refused" && ((string)e["detail"]!).Contains("evil.example"));
    }

    [Fact]
    public async Task The_session_cookie_alone_changes_nothing_the_token_does_and_basic_auth_needs_none()
    {
        using var s = await ConsoleSession.LoginAsync(f.Server.Url, ServerFixture.User, ServerFixture.Password);
        string version = "7.7." + Random.Shared.Next(1000, 60000);
        // A same-origin request (no Origin header, as a no-cors fetch from a foreign page would look to a careless
        // check) without the token: refused, nothing stored.
        var forged = await s.SendAsync(s.Request(HttpMethod.Post, "/api/images", ServerFixture.Form(ServerFixture.RandomImage(2048, 3), version), token: false));
        Assert.Equal(HttpStatusCode.Forbidden, forged.StatusCode);
        Assert.Equal("Antiforgery token refused", (string)JsonNode.Parse(await forged.Content.ReadAsStringAsync())!["title"]!);
        Assert.DoesNotContain((await f.GetAsync("/api/images")).AsArray(), i => (string)i!["version"]! == version);
        // A wrong token: refused too.
        var wrong = s.Request(HttpMethod.Post, "/api/images", ServerFixture.Form(ServerFixture.RandomImage(2048, 3), version), token: false);
        wrong.Headers.Add("X-CSRF-TOKEN", "CfDJ8-not-a-token");
        Assert.Equal(HttpStatusCode.Forbidden, (await s.SendAsync(wrong)).StatusCode);
        // The console's way (same origin, token): stored.
        var ok = await s.SendAsync(s.Request(HttpMethod.Post, "/api/images", ServerFixture.Form(ServerFixture.RandomImage(2048, 3), version), origin: f.Server.Url, fetchSite: "same-origin"));
        Assert.Equal(HttpStatusCode.Created, ok.StatusCode);
        string id = (string)JsonNode.Parse(await ok.Content.ReadAsStringAsync())!["id"]!;
        // The CLI's way (basic credentials, no browser headers, no token): works as before.
        Assert.Equal(HttpStatusCode.NoContent, (await f.Http.DeleteAsync($"/api/images/{id}")).StatusCode);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/console/app.js")]
    [InlineData("/api/health")]
    public async Task Console_and_api_answers_carry_the_security_headers(string path)
    {
        var res = await f.Anonymous.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, res.StatusCode);
        string csp = string.Join(";", res.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("frame-ancestors 'none'", csp);
        Assert.Contains("script-src 'self'", csp);
        Assert.DoesNotContain("'unsafe-inline'", csp.Split(';').First(d => d.Trim().StartsWith("script-src", StringComparison.Ordinal)));
        Assert.Equal("DENY", res.Headers.GetValues("X-Frame-Options").Single());
        Assert.Equal("nosniff", res.Headers.GetValues("X-Content-Type-Options").Single());
    }
}
