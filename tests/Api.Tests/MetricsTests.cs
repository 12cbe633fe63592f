using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace IotOta.Api.Tests;

/// <summary>GET /metrics during a rollout: Prometheus text with rollout progress, bytes, per-group completion, device
/// states, overhead and forwarding-rate histograms. The scrape is written to artifacts/metrics-during-rollout.txt.</summary>
[Collection(ServerCollection.Name)]
public sealed class MetricsTests(ServerFixture f)
{
    private static Dictionary<string, double> Parse(string text)
    {
        var values = new Dictionary<string, double>();
        foreach (string line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#') continue;
            int sp = line.LastIndexOf(' ');
            values[line[..sp]] = double.Parse(line[(sp + 1)..], CultureInfo.InvariantCulture);
        }
        return values;
    }

    [Fact]
    public async Task A_scrape_during_a_rollout_shows_its_progress()
    {
        Assert.Equal(HttpStatusCode.Unauthorized, (await f.Anonymous.GetAsync("/metrics")).StatusCode);
        string version = f.NextVersion();
        await f.UploadAsync(512 * 1024, version, 61);
        string id = (string)(await f.CreateAsync(new { imageId = version }))["id"]!;
        string during = "";
        Dictionary<string, double> m = new();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        // Scrape until the rollout is visibly under way (some packets held, not all devices done, an original's notice
        // measured: a silent relay's first notice can mark a delivery done before any root's notice came, and only a
        // notice that matched a send feeds the overhead histogram).
        while (DateTime.UtcNow < deadline)
        {
            var res = await f.Http.GetAsync("/metrics");
            Assert.Equal(HttpStatusCode.OK, res.StatusCode);
            Assert.StartsWith("text/plain", res.Content.Headers.ContentType!.ToString());
            during = await res.Content.ReadAsStringAsync();
            m = Parse(during);
            if (during.Contains($"rollout=\"{id}\",version=\"{version}\",state=\"running\"") && m.GetValueOrDefault("iotota_rollout_deliveries_done") > 0
                && m.GetValueOrDefault("iotota_rollout_deliveries_done") < m.GetValueOrDefault("iotota_rollout_deliveries_total")
                && m.GetValueOrDefault("iotota_receipt_overhead_ms_count") > 0) break;
            await Task.Delay(50);
        }
        string file = Path.Combine(Artifacts(), "metrics-during-rollout.txt");
        await File.WriteAllTextAsync(file, during);
        Console.WriteLine($"metrics scraped during rollout {id}: {file}");
        Assert.Contains($"iotota_rollout_info{{rollout=\"{id}\",version=\"{version}\",state=\"running\"}} 1", during);
        Assert.InRange(m["iotota_rollout_progress_percent"], 0, 99.9);
        Assert.InRange(m["iotota_rollout_deliveries_done"], 1, m["iotota_rollout_deliveries_total"] - 1);
        Assert.Equal(6, m["iotota_rollout_target_devices"]);
        Assert.Equal(524288, m["iotota_rollout_image_bytes"]);
        Assert.True(m["iotota_rollout_gateway_payload_bytes"] > 0);
        Assert.True(m["iotota_gateway_published_bytes_total"] >= m["iotota_rollout_gateway_payload_bytes"]);
        // First-network bytes as the embedded broker counts them: every original it passed on, and the control around it.
        Assert.True(m["iotota_first_network_bytes_sent"] >= m["iotota_rollout_gateway_payload_bytes"],
            $"broker sent {m["iotota_first_network_bytes_sent"]} B, less than the gateway's payload {m["iotota_rollout_gateway_payload_bytes"]} B");
        Assert.Equal(6, m["iotota_devices_online"]);
        Assert.Equal(6, m.Where(kv => kv.Key.StartsWith("iotota_devices{", StringComparison.Ordinal)).Sum(kv => kv.Value));
        Assert.Equal(3, m.Keys.Count(k => k.StartsWith("iotota_group_completion_ratio{", StringComparison.Ordinal)));
        Assert.Equal(3, m.Keys.Count(k => k.StartsWith("iotota_group_progress_percent{", StringComparison.Ordinal)));
        Assert.True(m["iotota_receipt_overhead_ms_count"] > 0);
        Assert.Contains("iotota_receipt_overhead_ms_bucket{le=\"+Inf\"}", during);
        Assert.Contains("# TYPE iotota_forwarding_rate_bytes_per_second histogram", during);
        Assert.Contains("iotota_relay_links", during);

        var end = await f.WaitEndAsync(id, TimeSpan.FromSeconds(90));
        Assert.Equal("completed", (string)end["state"]!);
        var after = Parse(await f.Http.GetStringAsync("/metrics"));
        Assert.Equal(100, after["iotota_rollout_progress_percent"]);
        Assert.Equal(6, after["iotota_rollout_updated_devices"]);
        Assert.True(after["iotota_first_network_bytes_sent"] >= 524288, "the broker sent less than the image once");
        Assert.All(after.Where(kv => kv.Key.StartsWith("iotota_group_completion_ratio{", StringComparison.Ordinal)), kv => Assert.Equal(1.0, kv.Value));
        Assert.True(after["iotota_forwarding_rate_bytes_per_second_count"] > 0, "no forwarding device was observed");
        Assert.Equal(6, after[$"iotota_device_versions{{version=\"{version}\"}}"]);
    }

    public static string Artifacts()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "Api.Tests.csproj"))) dir = dir.Parent;
        string path = Path.Combine(dir?.FullName ?? AppContext.BaseDirectory, "artifacts");
        Directory.CreateDirectory(path);
        return path;
    }
}
