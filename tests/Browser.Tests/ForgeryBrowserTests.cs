using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using IotOta.Gateway.Mqtt;
using IotOta.Gateway.Serve;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace IotOta.Browser.Tests;

/// <summary>The issue's attack, in Chromium: the operator is logged in to the console; a page on another port of the
/// same host (same site, so the SameSite=Strict cookie goes along) posts a form to abort the running rollout and
/// uploads an image with fetch(no-cors, credentials: include). Both are refused (403) and nothing changes.</summary>
public sealed class ForgeryBrowserTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string User = "admin", Password = "browser-forgery-pass";
    private GatewayServer _server = null!;
    private WebApplication _evil = null!;
    private string _evilUrl = "";
    private IPlaywright _pw = null!;
    private IBrowser _browser = null!;
    private HttpClient _cli = null!;

    public async Task InitializeAsync()
    {
        _server = await BrowserSupport.StartGatewayAsync(User, Password, devices: 3, groups: 3, gatewayUpKbps: 2000);
        _cli = new HttpClient { BaseAddress = new Uri(_server.Url) };
        _cli.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{User}:{Password}")));
        _evilUrl = $"http://127.0.0.1:{EmbeddedBroker.FreePort()}";
        var b = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--urls", _evilUrl, "--Logging:LogLevel:Default", "Warning"] });
        _evil = b.Build();
        _evil.MapGet("/", (string rollout) => Results.Content(EvilPage(_server.Url, rollout), "text/html"));
        await _evil.StartAsync();
        _pw = await Playwright.CreateAsync();
        _browser = await BrowserSupport.LaunchAsync(_pw);
    }

    /// <summary>What the attacker's page does on load: a plain form POST (into a hidden frame) and a no-cors upload.</summary>
    private static string EvilPage(string gateway, string rollout) => $$"""
        <!doctype html><html><body>
        <iframe name="sink" style="display:none"></iframe>
        <form id="f" method="POST" action="{{gateway}}/api/rollouts/{{rollout}}/abort" target="sink"><input name="x" value="1"></form>
        <div id="status">working</div>
        <script>
          document.getElementById('f').submit();
          const fd = new FormData();
          fd.append('file', new Blob([new Uint8Array(4096).fill(7)]), 'evil.bin');
          fd.append('version', '66.6.6');
          fetch('{{gateway}}/api/images', { method: 'POST', body: fd, mode: 'no-cors', credentials: 'include' })
            .then(() => document.getElementById('status').textContent = 'sent', (e) => document.getElementById('status').textContent = 'failed ' + e);
        </script></body></html>
        """;

    public async Task DisposeAsync()
    {
        if (_browser != null) await _browser.DisposeAsync();
        _pw?.Dispose();
        if (_evil != null) await _evil.DisposeAsync();
        _cli?.Dispose();
        if (_server != null) await _server.DisposeAsync();
    }

    [Fact]
    public async Task A_page_on_another_origin_cannot_abort_a_rollout_or_upload_an_image()
    {
        // A rollout that stays active: started, then paused.
        var up = await _cli.PostAsync("/api/images", new MultipartFormDataContent { { new ByteArrayContent(new byte[300 * 1024]), "file", "fw.bin" }, { new StringContent("2.0.0"), "version" } });
        Assert.True(up.IsSuccessStatusCode, await up.Content.ReadAsStringAsync());
        var created = await _cli.PostAsJsonAsync("/api/rollouts?start=true", new { imageId = "2.0.0" });
        string id = (string)JsonNode.Parse(await created.Content.ReadAsStringAsync())!["id"]!;
        Assert.True((await _cli.PostAsync($"/api/rollouts/{id}/pause", null)).IsSuccessStatusCode);

        var context = await _browser.NewContextAsync();
        var console = await context.NewPageAsync();
        await BrowserSupport.LogInAsync(console, _server.Url, User, Password);
        var cookies = await context.CookiesAsync([_server.Url]);
        Assert.Contains(cookies, c => c.Name == "iotota.auth" && c.SameSite == SameSiteAttribute.Strict);

        // The attacker's page, in the same browser (so the session cookie is there).
        var evil = await context.NewPageAsync();
        var abortAnswer = evil.WaitForResponseAsync(r => r.Url.EndsWith($"/api/rollouts/{id}/abort", StringComparison.Ordinal));
        var uploadAnswer = evil.WaitForResponseAsync(r => r.Url.EndsWith("/api/images", StringComparison.Ordinal));
        await evil.GotoAsync($"{_evilUrl}/?rollout={id}");
        var abort = await abortAnswer;
        var upload = await uploadAnswer;
        await Assertions.Expect(evil.Locator("#status")).ToHaveTextAsync("sent");
        var sentCookie = await abort.Request.HeaderValueAsync("cookie");
        Assert.Contains("iotota.auth=", sentCookie ?? "");
        output.WriteLine($"forged abort: {abort.Status}; forged upload: {upload.Status}; the browser sent Origin {await abort.Request.HeaderValueAsync("origin")}");
        Assert.Equal(403, abort.Status);
        Assert.Equal(403, upload.Status);

        // Nothing changed: the rollout is still paused, no image 66.6.6, and the audit log names both refusals.
        var rollout = JsonNode.Parse(await _cli.GetStringAsync($"/api/rollouts/{id}"))!;
        Assert.Equal("paused", (string)rollout["state"]!);
        Assert.DoesNotContain(JsonNode.Parse(await _cli.GetStringAsync("/api/images"))!.AsArray(), i => (string)i!["version"]! == "66.6.6");
        var audit = JsonNode.Parse(await _cli.GetStringAsync("/api/audit?limit=50"))!["items"]!.AsArray();
        Assert.Contains(audit, e => (string)e!["action"]! == "request.refused" && (string)e["target"]! == $"POST /api/rollouts/{id}/abort");
        Assert.Contains(audit, e => (string)e!["action"]! == "request.refused" && (string)e["target"]! == "POST /api/images");

        // The console itself (same origin, with its token) still can: abort from the page.
        await console.ReloadAsync();
        await Assertions.Expect(console.Locator("#rollout-state")).ToHaveTextAsync("paused");
        await console.ClickAsync("#rollout-abort");
        await Assertions.Expect(console.Locator("#rollout-state")).ToHaveTextAsync("aborted", new() { Timeout = 30_000 });
        await context.CloseAsync();
    }
}
