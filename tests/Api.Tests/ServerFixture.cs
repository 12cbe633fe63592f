using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using IotOta.Simulation.Serve;
using IotOta.Gateway.Mqtt;
using IotOta.Simulation.Demo;
using IotOta.Gateway.Serve;

namespace IotOta.Api.Tests;

/// <summary>One gateway for the whole assembly: embedded broker, 6 virtual devices in 3 groups, the API on a free
/// loopback port (WebApplication with --urls). Rollouts run one at a time, so versions are handed out in order.</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    public const string User = "operator", Password = "test-password-1";
    public const long MaxImageBytes = 600 * 1024;
    private int _patch;

    public GatewayServer Server { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;
    public HttpClient Anonymous { get; private set; } = null!;

    /// <summary>The virtual fleet behind the server (devices can be powered off and on).</summary>
    public ServeSimulation Simulation { get; } = new();

    public async Task InitializeAsync()
    {
        Server = await GatewayServer.StartAsync(ServeSimulation.SmallFleet(User, Password) with { MaxImageBytes = MaxImageBytes, Simulation = Simulation }, null, CancellationToken.None);
        Http = new HttpClient { BaseAddress = new Uri(Server.Url), Timeout = TimeSpan.FromSeconds(60) };
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{User}:{Password}")));
        Anonymous = new HttpClient { BaseAddress = new Uri(Server.Url), Timeout = TimeSpan.FromSeconds(60) };
    }

    /// <summary>A version above every one used so far (devices refuse older ones).</summary>
    public string NextVersion() => $"2.0.{Interlocked.Increment(ref _patch)}";

    public static byte[] RandomImage(int size, int seed)
    {
        var b = new byte[size];
        new Random(seed).NextBytes(b);
        return b;
    }

    public static MultipartFormDataContent Form(byte[]? bytes, string? version, string fileName = "fw.bin")
    {
        var form = new MultipartFormDataContent();
        if (bytes != null) form.Add(new ByteArrayContent(bytes), "file", fileName);
        if (version != null) form.Add(new StringContent(version), "version");
        return form;
    }

    public async Task<JsonNode> UploadAsync(int size, string version, int seed)
    {
        var res = await Http.PostAsync("/api/images", Form(RandomImage(size, seed), version));
        Assert.True(res.IsSuccessStatusCode, $"upload failed: {(int)res.StatusCode} {await res.Content.ReadAsStringAsync()}");
        return JsonNode.Parse(await res.Content.ReadAsStringAsync())!;
    }

    public async Task<JsonNode> CreateAsync(object body, bool start = true)
    {
        var res = await Http.PostAsJsonAsync(start ? "/api/rollouts?start=true" : "/api/rollouts", body);
        Assert.True(res.IsSuccessStatusCode, $"create failed: {(int)res.StatusCode} {await res.Content.ReadAsStringAsync()}");
        return JsonNode.Parse(await res.Content.ReadAsStringAsync())!;
    }

    public async Task<JsonNode> GetAsync(string path) => JsonNode.Parse(await Http.GetStringAsync(path))!;

    /// <summary>Polls the rollout until it ends; returns its final view.</summary>
    public async Task<JsonNode> WaitEndAsync(string id, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var v = await GetAsync($"/api/rollouts/{id}");
            string state = (string)v["state"]!;
            if (state is "completed" or "failed" or "aborted" or "ended-with-pending") return v;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"rollout {id} still {state} after {timeout.TotalSeconds} s: {v.ToJsonString()}");
            await Task.Delay(100);
        }
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        Anonymous.Dispose();
        await Server.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class ServerCollection : ICollectionFixture<ServerFixture>
{
    public const string Name = "gateway server";
}
