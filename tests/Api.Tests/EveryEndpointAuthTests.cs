using System.Net;
using System.Text.Json.Nodes;

namespace IotOta.Api.Tests;

/// <summary>Every endpoint the OpenAPI document lists answers 401 without credentials, except health, login and
/// logout — so a newly added endpoint that forgets authorization fails here.</summary>
[Collection(ServerCollection.Name)]
public sealed class EveryEndpointAuthTests(ServerFixture f)
{
    private static readonly HashSet<string> Open = ["GET /api/health", "POST /api/login", "POST /api/logout"];

    [Fact]
    public async Task Every_api_endpoint_but_health_login_and_logout_needs_credentials()
    {
        var doc = JsonNode.Parse(await f.Anonymous.GetStringAsync("/openapi/v1.json"))!;
        var checkedEndpoints = new List<string>();
        foreach (var (path, item) in doc["paths"]!.AsObject())
        {
            foreach (var (method, _) in item!.AsObject())
            {
                string key = $"{method.ToUpperInvariant()} {path}";
                if (Open.Contains(key)) continue;
                string concrete = System.Text.RegularExpressions.Regex.Replace(path, @"\{[^}]+\}", "x");
                var res = await f.Anonymous.SendAsync(new HttpRequestMessage(new HttpMethod(method.ToUpperInvariant()), concrete));
                Assert.True(res.StatusCode == HttpStatusCode.Unauthorized, $"{key} answered {(int)res.StatusCode} without credentials");
                checkedEndpoints.Add(key);
            }
        }
        Assert.Contains("GET /api/devices", checkedEndpoints);
        Assert.Contains("POST /api/images", checkedEndpoints);
        Assert.Contains("POST /api/rollouts/{id}/abort", checkedEndpoints);
        Assert.True(checkedEndpoints.Count >= 15, $"only {checkedEndpoints.Count} endpoints in the OpenAPI document");
    }

    [Fact]
    public async Task Health_answers_without_credentials_and_tells_nothing_else()
    {
        var res = await f.Anonymous.GetAsync("/api/health");
        Assert.Equal(HttpStatusCode.OK, res.StatusCode);
        Assert.Equal("{\"status\":\"ok\"}", await res.Content.ReadAsStringAsync());
    }
}
