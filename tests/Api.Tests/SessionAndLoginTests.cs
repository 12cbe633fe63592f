using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using IotOta.Gateway.Api;
using Microsoft.Extensions.DependencyInjection;

namespace IotOta.Api.Tests;

/// <summary>Sessions end at logout on the server; failed logins are slowed, locked out and logged; a short configured
/// password stops the start with a clear message.</summary>
[Collection(ServerCollection.Name)]
public sealed class SessionAndLoginTests(ServerFixture f)
{
    [Fact]
    public async Task After_logout_the_old_cookie_no_longer_works()
    {
        using var s = await ConsoleSession.LoginAsync(f.Server.Url, ServerFixture.User, ServerFixture.Password);
        var uri = new Uri(f.Server.Url);
        string cookie = s.Cookies.GetCookieHeader(uri);
        Assert.Contains("iotota.auth=", cookie);
        Assert.Equal(HttpStatusCode.OK, (await s.Http.GetAsync("/api/devices")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await s.SendAsync(s.Request(HttpMethod.Post, "/api/logout"))).StatusCode);
        // Replay the cookie captured before logout (a stolen copy, or a browser that kept it): refused.
        using var replay = new HttpClient { BaseAddress = uri };
        var req = new HttpRequestMessage(HttpMethod.Get, "/api/devices");
        req.Headers.Add("Cookie", cookie);
        var res = await replay.SendAsync(req);
        Assert.Equal(HttpStatusCode.Unauthorized, res.StatusCode);
        var audit = (await f.GetAsync("/api/audit?limit=500"))["items"]!.AsArray();
        Assert.Contains(audit, e => (string)e!["action"]! == "logout" && (string)e["actor"]! == ServerFixture.User);
    }

    [Fact]
    public async Task An_open_event_stream_ends_at_logout()
    {
        string version = f.NextVersion();
        await f.UploadAsync(1024, version, 21);
        // A created (not started) rollout streams progress until it ends: here until the session ends.
        var r = await f.CreateAsync(new { imageId = version }, start: false);
        string id = (string)r["id"]!;
        try
        {
            using var s = await ConsoleSession.LoginAsync(f.Server.Url, ServerFixture.User, ServerFixture.Password);
            using var stream = await s.Http.GetAsync($"/api/rollouts/{id}/events", HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal("text/event-stream", stream.Content.Headers.ContentType?.MediaType);
            var body = await stream.Content.ReadAsStreamAsync();
            var buf = new byte[8192];
            Assert.True(await body.ReadAsync(buf) > 0);
            Assert.Equal(HttpStatusCode.NoContent, (await s.SendAsync(s.Request(HttpMethod.Post, "/api/logout"))).StatusCode);
            var sw = Stopwatch.StartNew();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            while (await body.ReadAsync(buf, cts.Token) > 0) { }
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10));
        }
        finally
        {
            await f.Http.PostAsync($"/api/rollouts/{id}/abort", null);
        }
    }

    [Fact]
    public async Task Failed_logins_are_slowed_locked_out_and_logged()
    {
        await using var server = await SmallServer.StartAsync(new LoginThrottleOptions { MaxFailures = 5, Lockout = TimeSpan.FromSeconds(30), FailureDelay = TimeSpan.FromMilliseconds(200) });
        using var http = new HttpClient { BaseAddress = new Uri(server.Url) };
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < 4; i++)
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.PostAsJsonAsync("/api/login", new { user = SmallServer.User, password = "guess" + i })).StatusCode);
        Assert.True(sw.ElapsedMilliseconds >= 4 * 200, $"4 failed logins took {sw.ElapsedMilliseconds} ms");
        // The fifth failure locks the address out: from now on even the right password is refused, with 429 and Retry-After.
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.PostAsJsonAsync("/api/login", new { user = SmallServer.User, password = "guess5" })).StatusCode);
        var locked = await http.PostAsJsonAsync("/api/login", new { user = SmallServer.User, password = SmallServer.Password });
        Assert.Equal(HttpStatusCode.TooManyRequests, locked.StatusCode);
        Assert.True(locked.Headers.RetryAfter?.Delta > TimeSpan.Zero);
        Assert.Contains("too many failed logins", (string)JsonNode.Parse(await locked.Content.ReadAsStringAsync())!["detail"]!);
        // Basic credentials from the locked address are refused too (no way around the lockout through the CLI path).
        var basic = new HttpRequestMessage(HttpMethod.Get, "/api/devices");
        basic.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{SmallServer.User}:{SmallServer.Password}")));
        var basicRes = await http.SendAsync(basic);
        Assert.Equal(HttpStatusCode.Unauthorized, basicRes.StatusCode);
        Assert.Contains("locked out", (string)JsonNode.Parse(await basicRes.Content.ReadAsStringAsync())!["detail"]!);
        // Logged in the audit log: five failures, the lockout among them.
        var entries = server.Services.GetRequiredService<IAuditLog>().List(0, 100);
        Assert.Equal(4, entries.Count(e => e.Action == "login.failed" && e.Client == "127.0.0.1"));
        Assert.Single(entries, e => e.Action == "login.lockout");
    }

    [Theory]
    [InlineData("a")]
    [InlineData("elevenchars")]
    public async Task A_configured_password_shorter_than_12_characters_is_refused_at_start(string password)
    {
        var e = await Assert.ThrowsAsync<ArgumentException>(() => SmallServer.StartAsync(password: password));
        Assert.Contains($"has {password.Length} characters; it needs at least 12", e.Message);
        Assert.Contains("IotOta__Admin__Password", e.Message);
    }
}
