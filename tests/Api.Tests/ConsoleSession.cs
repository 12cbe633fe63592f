using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace IotOta.Api.Tests;

/// <summary>A client the way the console talks: cookie session from POST /api/login, antiforgery token from
/// GET /api/antiforgery sent in X-CSRF-TOKEN.</summary>
public sealed class ConsoleSession : IDisposable
{
    public CookieContainer Cookies { get; } = new();
    public HttpClient Http { get; }
    public string? Token { get; private set; }

    private ConsoleSession(string url) =>
        Http = new HttpClient(new HttpClientHandler { CookieContainer = Cookies }) { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(60) };

    public static async Task<ConsoleSession> LoginAsync(string url, string user, string password)
    {
        var s = new ConsoleSession(url);
        var res = await s.Http.PostAsJsonAsync("/api/login", new { user, password });
        Assert.True(res.StatusCode == HttpStatusCode.OK, $"login: {(int)res.StatusCode} {await res.Content.ReadAsStringAsync()}");
        s.Token = (string)JsonNode.Parse(await s.Http.GetStringAsync("/api/antiforgery"))!["token"]!;
        return s;
    }

    /// <summary>A request with the session cookie; with the antiforgery token unless <paramref name="token"/> is false.</summary>
    public HttpRequestMessage Request(HttpMethod method, string path, HttpContent? content = null, bool token = true, string? origin = null, string? fetchSite = null)
    {
        var req = new HttpRequestMessage(method, path) { Content = content };
        if (token && Token != null) req.Headers.Add("X-CSRF-TOKEN", Token);
        if (origin != null) req.Headers.Add("Origin", origin);
        if (fetchSite != null) req.Headers.Add("Sec-Fetch-Site", fetchSite);
        return req;
    }

    public Task<HttpResponseMessage> SendAsync(HttpRequestMessage req) => Http.SendAsync(req);

    public void Dispose() => Http.Dispose();
}
