using System.Diagnostics;
using System.Text.Json.Nodes;
using IotOta.Gateway.Mqtt;
using IotOta.Gateway.Serve;
using IotOta.Shared.Protocol;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace IotOta.Browser.Tests;

/// <summary>The console with 1,000 devices, each a real MQTT connection that published its presence to the broker
/// and reached the gateway's registry: the page renders a bounded number of rows, fast, and pages, filters and
/// searches on the server; groups are aggregated. Writes artifacts/console-1000-devices.png.</summary>
public sealed class FleetConsoleTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string User = "admin", Password = "browser-fleet-pass";
    private const int DeviceCount = 1000, GroupCount = 40, PageSize = 50;
    private GatewayServer _server = null!;
    private PresenceFleet _fleet = null!;
    private IPlaywright _pw = null!;
    private IBrowser _browser = null!;

    public async Task InitializeAsync()
    {
        _server = await BrowserSupport.StartGatewayAsync(User, Password, devices: 0);
        var (host, port) = BrokerAddress.Parse(_server.BrokerAddress);
        FirmwareVersion[] versions = [new(1, 0, 0), new(1, 1, 0), new(1, 2, 0)];
        var devices = Enumerable.Range(0, DeviceCount).Select(i => new PresenceFleet.Device((uint)(1001 + i), 1 + i % GroupCount, versions[i % 7 % 3],
            i % 97 == 0 ? DeviceState.Failed : i % 5 == 0 ? DeviceState.Updated : DeviceState.Idle)).ToList();
        _fleet = await PresenceFleet.StartAsync(host, port, devices, CancellationToken.None);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (_server.Gateway.Registry.Online().Count < DeviceCount && DateTime.UtcNow < deadline) await Task.Delay(100);
        Assert.Equal(DeviceCount, _server.Gateway.Registry.Online().Count);
        _pw = await Playwright.CreateAsync();
        _browser = await BrowserSupport.LaunchAsync(_pw);
    }

    public async Task DisposeAsync()
    {
        if (_browser != null) await _browser.DisposeAsync();
        _pw?.Dispose();
        if (_fleet != null) await _fleet.DisposeAsync();
        if (_server != null) await _server.DisposeAsync();
    }

    private void Log(string s)
    {
        output.WriteLine(s);
        Console.WriteLine(s);
    }

    [Fact]
    public async Task A_thousand_devices_render_paged_filtered_and_grouped()
    {
        var page = await _browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 1600 } });
        var errors = new List<string>();
        // (The 401 of GET /api/me before login and the missing favicon show as "Failed to load resource": expected.)
        page.Console += (_, m) => { if (m.Type == "error" && !m.Text.StartsWith("Failed to load resource", StringComparison.Ordinal)) errors.Add(m.Text); };
        page.PageError += (_, e) => errors.Add(e);
        await page.GotoAsync(_server.Url + "/");
        await page.FillAsync("#login-user", User);
        await page.FillAsync("#login-password", Password);
        var rows = page.Locator("#devices-table tbody tr");
        var sw = Stopwatch.StartNew();
        await page.ClickAsync("#login-submit");
        await Assertions.Expect(page.Locator("#fleet-summary")).ToHaveTextAsync($"{DeviceCount} devices known, {DeviceCount} online, {GroupCount} groups");
        await Assertions.Expect(rows).ToHaveCountAsync(PageSize);
        await Assertions.Expect(page.Locator("#groups-table tbody tr")).ToHaveCountAsync(GroupCount);
        long firstRenderMs = sw.ElapsedMilliseconds;
        Log($"console at {DeviceCount} devices: logged in and rendered in {firstRenderMs} ms");
        Assert.True(firstRenderMs < 5000, $"the first render took {firstRenderMs} ms");

        // Bounded DOM: the page holds one page of devices, not the fleet.
        int domNodes = await page.EvaluateAsync<int>("document.getElementsByTagName('*').length");
        int deviceCells = await page.EvaluateAsync<int>("document.querySelectorAll('#devices-table td').length");
        Log($"DOM: {domNodes} elements in all, {deviceCells} device cells ({PageSize} rows)");
        Assert.True(domNodes < 3000, $"{domNodes} elements in the page");
        Assert.Equal(PageSize * 13, deviceCells);
        await Assertions.Expect(page.Locator("#page-info")).ToHaveTextAsync($"1–{PageSize} of {DeviceCount} matching ({DeviceCount} devices)");

        // Paging: the next page starts where the first ended.
        await page.ClickAsync("#page-next");
        await Assertions.Expect(page.Locator("#page-info")).ToHaveTextAsync($"{PageSize + 1}–{2 * PageSize} of {DeviceCount} matching ({DeviceCount} devices)");
        Assert.Equal($"{1001 + PageSize}", await rows.First.Locator("td").First.TextContentAsync());

        // Filter by group from the aggregated groups table: 25 devices, all in that group.
        sw.Restart();
        await page.ClickAsync("#groups-table button.show-group[data-group='7']");
        await Assertions.Expect(page.Locator("#page-info")).ToHaveTextAsync($"1–25 of 25 matching ({DeviceCount} devices)");
        Log($"filter by group: {sw.ElapsedMilliseconds} ms");
        Assert.All(await page.Locator("#devices-table tbody tr td:nth-child(2)").AllTextContentsAsync(), g => Assert.Equal("7", g));

        // Filter by state and version together, and search by node id.
        await page.SelectOptionAsync("#filter-group", "");
        await page.SelectOptionAsync("#filter-state", "Failed");
        int failed = _fleet.Devices.Count(d => d.State == DeviceState.Failed);
        await Assertions.Expect(page.Locator("#page-info")).ToHaveTextAsync($"1–{failed} of {failed} matching ({DeviceCount} devices)");
        Assert.All(await page.Locator("#devices-table tbody tr td:nth-child(5)").AllTextContentsAsync(), s => Assert.Equal("Failed", s));
        await page.SelectOptionAsync("#filter-state", "");
        await page.SelectOptionAsync("#filter-version", "1.2.0");
        int v12 = _fleet.Devices.Count(d => d.Version.ToString() == "1.2.0");
        await Assertions.Expect(page.Locator("#page-info")).ToContainTextAsync($"of {v12} matching");
        await page.SelectOptionAsync("#filter-version", "");
        await page.FillAsync("#filter-q", "1999");
        await Assertions.Expect(page.Locator("#page-info")).ToHaveTextAsync($"1–1 of 1 matching ({DeviceCount} devices)");
        await Assertions.Expect(rows.First.Locator("td").First).ToHaveTextAsync("1999");
        await page.FillAsync("#filter-q", "");
        await Assertions.Expect(page.Locator("#page-info")).ToHaveTextAsync($"1–{PageSize} of {DeviceCount} matching ({DeviceCount} devices)");

        // Groups aggregated: group 1's counts add up to its devices.
        var g1 = page.Locator("#groups-table tbody tr[data-group='1'] td");
        Assert.Equal("25", await g1.Nth(1).TextContentAsync());
        Assert.Equal("25", await g1.Nth(2).TextContentAsync());

        // The rollout form offers every option the API's CreateRolloutRequest has.
        var doc = JsonNode.Parse(await (await page.APIRequest.GetAsync(_server.Url + "/openapi/v1.json")).TextAsync())!;
        var options = doc["components"]!["schemas"]!["CreateRolloutRequest"]!["properties"]!.AsObject().Select(p => p.Key).Order().ToList();
        var fields = (await page.Locator("#rollout-form [data-field]").EvaluateAllAsync<string[]>("els => els.map(e => e.dataset.field)")).Order().ToList();
        Assert.Equal(options, fields);

        string shot = Path.Combine(BrowserSupport.ArtifactsDir(), "console-1000-devices.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = shot, FullPage = true });
        Assert.True(new FileInfo(shot).Length > 20_000);
        int height = await page.EvaluateAsync<int>("document.documentElement.scrollHeight");
        Log($"screenshot of the console at {DeviceCount} devices: {shot} (page height {height} px)");
        Assert.Empty(errors);
    }
}
