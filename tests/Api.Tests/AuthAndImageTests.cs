using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace IotOta.Api.Tests;

[Collection(ServerCollection.Name)]
public sealed class AuthAndImageTests(ServerFixture f)
{
    [Theory]
    [InlineData("GET", "/api/devices")]
    [InlineData("GET", "/api/images")]
    [InlineData("GET", "/api/rollouts")]
    [InlineData("POST", "/api/rollouts/r1/abort")]
    [InlineData("GET", "/api/rollouts/r1/events")]
    public async Task Api_needs_credentials(string method, string path)
    {
        var res = await f.Anonymous.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
        Assert.Equal(HttpStatusCode.Unauthorized, res.StatusCode);
        Assert.Equal("application/problem+json", res.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Wrong_password_is_refused_and_login_issues_a_working_cookie()
    {
        var wrong = new HttpRequestMessage(HttpMethod.Get, "/api/devices");
        wrong.Headers.Authorization = new("Basic", Convert.ToBase64String("operator:nope"u8.ToArray()));
        Assert.Equal(HttpStatusCode.Unauthorized, (await f.Anonymous.SendAsync(wrong)).StatusCode);

        var bad = await f.Anonymous.PostAsJsonAsync("/api/login", new { user = ServerFixture.User, password = "nope" });
        Assert.Equal(HttpStatusCode.Unauthorized, bad.StatusCode);
        Assert.False(bad.Headers.Contains("Set-Cookie"));

        using var cookies = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer() }) { BaseAddress = new Uri(f.Server.Url) };
        var ok = await cookies.PostAsJsonAsync("/api/login", new { user = ServerFixture.User, password = ServerFixture.Password });
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        var me = JsonNode.Parse(await cookies.GetStringAsync("/api/me"))!;
        Assert.Equal(ServerFixture.User, (string)me["user"]!);
        var devices = JsonNode.Parse(await cookies.GetStringAsync("/api/devices"))!.AsArray();
        Assert.Equal(6, devices.Count);
        await cookies.PostAsync("/api/logout", null);
        Assert.Equal(HttpStatusCode.Unauthorized, (await cookies.GetAsync("/api/devices")).StatusCode);
    }

    [Fact]
    public async Task OpenApi_document_and_console_are_served()
    {
        var doc = await f.Anonymous.GetStringAsync("/openapi/v1.json");
        Assert.Contains("\"/api/images\"", doc);
        Assert.Contains("\"/api/rollouts/{id}/pause\"", doc);
        Assert.Contains("\"/api/rollouts/{id}/events\"", doc);
        var page = await f.Anonymous.GetStringAsync("/");
        Assert.Contains("id=\"login-form\"", page);
        Assert.Contains("EventSource", await f.Anonymous.GetStringAsync("/console/app.js"));
        Assert.Equal(HttpStatusCode.NotFound, (await f.Anonymous.GetAsync("/console/nothing.js")).StatusCode);
    }

    [Fact]
    public async Task Upload_signs_lists_gets_and_deletes_an_image()
    {
        string version = "9.9." + Random.Shared.Next(1000, 60000);
        var img = await f.UploadAsync(20_000, version, 7);
        string id = (string)img["id"]!;
        Assert.Equal(version, (string)img["version"]!);
        Assert.Equal("esp32", (string)img["board"]!);
        Assert.Equal(20_000, (long)img["size"]!);
        Assert.Equal(5, (int)img["chunkCount"]!);
        Assert.Matches("^[0-9a-f]{8}$", id);
        // The gateway signed it: the manifest verifies against the gateway's key.
        var stored = f.Server.Manager.Images.Get(id)!;
        Assert.Equal(version, stored.Image.Version.ToString());
        Assert.Contains((await f.GetAsync("/api/images")).AsArray(), i => (string)i!["id"]! == id);
        Assert.Equal(version, (string)(await f.GetAsync($"/api/images/{id}"))["version"]!);
        Assert.Equal(HttpStatusCode.NoContent, (await f.Http.DeleteAsync($"/api/images/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await f.Http.GetAsync($"/api/images/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await f.Http.DeleteAsync($"/api/images/{id}")).StatusCode);
    }

    public static TheoryData<string, int, string> BadUploads => new()
    {
        { "empty", 400, "Empty image" },
        { "bad-version", 400, "Bad version" },
        { "no-version", 400, "Missing version" },
        { "no-file", 400, "Missing file" },
        { "too-large", 413, "Image too large" },
        { "not-a-form", 415, "Unsupported Media Type" },
    };

    [Theory]
    [MemberData(nameof(BadUploads))]
    public async Task Bad_uploads_are_refused_with_a_problem(string kind, int status, string title)
    {
        HttpContent content = kind switch
        {
            "empty" => ServerFixture.Form([], "3.0.0"),
            "bad-version" => ServerFixture.Form(new byte[100], "3.x.0"),
            "no-version" => ServerFixture.Form(new byte[100], null),
            "no-file" => ServerFixture.Form(null, "3.0.0"),
            "too-large" => ServerFixture.Form(new byte[ServerFixture.MaxImageBytes + 1], "3.0.0"),
            _ => JsonContent.Create(new { version = "3.0.0" }),
        };
        var res = await f.Http.PostAsync("/api/images", content);
        Assert.Equal(status, (int)res.StatusCode);
        Assert.Equal("application/problem+json", res.Content.Headers.ContentType?.MediaType);
        var problem = JsonNode.Parse(await res.Content.ReadAsStringAsync())!;
        Assert.Equal(title, (string)problem["title"]!);
        Assert.False(string.IsNullOrEmpty((string?)problem["detail"]), $"{status} without a detail"); // the framework's 415 gets one too
    }

    [Fact]
    public async Task The_same_version_twice_is_a_conflict()
    {
        string version = "8.8." + Random.Shared.Next(1000, 60000);
        await f.UploadAsync(1000, version, 1);
        var res = await f.Http.PostAsync("/api/images", ServerFixture.Form(ServerFixture.RandomImage(1000, 2), version));
        Assert.Equal(HttpStatusCode.Conflict, res.StatusCode);
        Assert.Contains(version, (string)JsonNode.Parse(await res.Content.ReadAsStringAsync())!["detail"]!);
    }

    [Fact]
    public async Task Devices_and_groups_describe_the_fleet()
    {
        var devices = (await f.GetAsync("/api/devices")).AsArray();
        Assert.Equal(6, devices.Count);
        Assert.All(devices, d => Assert.True((bool)d!["online"]!));
        Assert.Equal([1, 2, 3], devices.Select(d => (int)d!["groupId"]!).Distinct().Order());
        var groups = (await f.GetAsync("/api/groups")).AsArray();
        Assert.Equal(3, groups.Count);
        Assert.All(groups, g => Assert.Equal(2, (int)g!["devices"]!));
    }
}
