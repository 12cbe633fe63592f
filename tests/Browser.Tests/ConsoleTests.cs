using System.Text.RegularExpressions;
using IotOta.Gateway.Serve;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace IotOta.Browser.Tests;

/// <summary>
/// The web console in Debian's Chromium (/usr/bin/chromium, or CHROMIUM_PATH) driven by Playwright, against a gateway
/// with a running virtual fleet: log in, upload an image, start a rollout, watch it reach 100 %, see an API error in
/// the page. Playwright's node driver comes from the NuGet package; no `playwright install`.
/// </summary>
public sealed class ConsoleTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string User = "admin", Password = "browser-pass-1";
    private GatewayServer _server = null!;
    private IPlaywright _pw = null!;
    private IBrowser _browser = null!;

    public async Task InitializeAsync()
    {
        _server = await BrowserSupport.StartGatewayAsync(User, Password, devices: 6, groups: 3, gatewayUpKbps: 4000, deviceUpKbps: 8000, deviceDownKbps: 16000);
        _pw = await Playwright.CreateAsync();
        _browser = await BrowserSupport.LaunchAsync(_pw);
    }

    public async Task DisposeAsync()
    {
        if (_browser != null) await _browser.DisposeAsync();
        _pw?.Dispose();
        if (_server != null) await _server.DisposeAsync();
    }

    [Fact]
    public async Task Operator_logs_in_uploads_rolls_out_to_100_percent_and_sees_api_errors()
    {
        var page = await _browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 1400 } });
        var consoleErrors = new List<string>();
        page.Console += (_, m) => { if (m.Type == "error") consoleErrors.Add(m.Text); };
        await page.GotoAsync(_server.Url + "/");

        // Wrong password: the API's 401 shows plainly; then the right one.
        await page.FillAsync("#login-user", User);
        await page.FillAsync("#login-password", "wrong");
        await page.ClickAsync("#login-submit");
        await Assertions.Expect(page.Locator("#error")).ToContainTextAsync("401");
        await page.FillAsync("#login-password", Password);
        await page.ClickAsync("#login-submit");
        await Assertions.Expect(page.Locator("#app-view")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#devices-table tbody tr")).ToHaveCountAsync(6);

        // Upload an image through the form.
        string file = Path.Combine(Path.GetTempPath(), $"iotota-browser-{Guid.NewGuid():N}.bin");
        var bytes = new byte[200 * 1024];
        new Random(5).NextBytes(bytes);
        await File.WriteAllBytesAsync(file, bytes);
        try
        {
            await page.SetInputFilesAsync("#upload-file", file);
            await page.FillAsync("#upload-version", "2.1.0");
            await page.ClickAsync("#upload-submit");
            await Assertions.Expect(page.Locator("#images-table tbody tr")).ToHaveCountAsync(1);
            await Assertions.Expect(page.Locator("#images-table tbody")).ToContainTextAsync("2.1.0");

            // The same version again: the API's 409 problem appears in the page.
            await page.ClickAsync("#upload-submit");
            await Assertions.Expect(page.Locator("#error")).ToBeVisibleAsync();
            await Assertions.Expect(page.Locator("#error")).ToContainTextAsync("409 Duplicate image");
            await Assertions.Expect(page.Locator("#error")).ToContainTextAsync("version 2.1.0");
        }
        finally
        {
            File.Delete(file);
        }

        // Start a rollout on the running fleet and watch the live view reach 100 %.
        await page.ClickAsync("#rollout-start");
        await Assertions.Expect(page.Locator("#live")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#group-bars .group-progress")).ToHaveCountAsync(3);
        await Assertions.Expect(page.Locator("#rollout-state")).ToHaveTextAsync("completed", new() { Timeout = 60_000 });
        await Assertions.Expect(page.Locator("#rollout-percent")).ToHaveTextAsync("100.0 %");
        await Assertions.Expect(page.Locator("#device-grid .dev.updated")).ToHaveCountAsync(6);
        await Assertions.Expect(page.Locator("#gateway-bytes")).ToContainTextAsync("for a 200.0 KiB image");
        await Assertions.Expect(page.Locator("#bound")).ToContainTextAsync(new Regex("Kumar–Ross bound [0-9.]+ s"));
        // The relay picture was drawn from the engine's send orders while it ran; it keeps the groups after the end.
        Assert.Equal(3, await page.Locator("#relay-svg circle").CountAsync());
        Assert.True(await page.Locator("#relay-svg .relay-arrow").CountAsync() > 0, "no root → relay arrow in the picture");

        string shot = Path.Combine(BrowserSupport.ArtifactsDir(), "live-rollout.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = shot, FullPage = true });
        Assert.True(new FileInfo(shot).Length > 10_000);
        output.WriteLine($"screenshot of the live rollout view: {shot}");
        Console.WriteLine($"screenshot of the live rollout view: {shot}");

        // The history lists it with the counts it ended with; the audit log names who started it.
        var row = page.Locator("#rollout-history tbody tr").First;
        await Assertions.Expect(row.Locator("td").Nth(2)).ToHaveTextAsync("completed");
        await Assertions.Expect(row.Locator("td").Nth(3)).ToHaveTextAsync("6");
        await Assertions.Expect(page.Locator("#audit-table tbody")).ToContainTextAsync("rollout.start");
        await Assertions.Expect(page.Locator("#audit-table tbody")).ToContainTextAsync("image.upload");

        // Pausing a completed rollout is refused; the page shows the API's answer.
        await page.EvaluateAsync("document.querySelector('#rollout-pause').disabled = false");
        await page.ClickAsync("#rollout-pause");
        await Assertions.Expect(page.Locator("#error")).ToContainTextAsync("409 Not running");
        Assert.DoesNotContain(consoleErrors, e => e.Contains("TypeError") || e.Contains("ReferenceError"));
    }
}
