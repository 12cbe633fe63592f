using IotOta.Simulation.Serve;
using IotOta.Gateway.Mqtt;
using IotOta.Gateway.Serve;
using Microsoft.Playwright;

namespace IotOta.Browser.Tests;

/// <summary>Debian's Chromium through Playwright, and where the tests write screenshots.</summary>
public static class BrowserSupport
{
    public static string ChromiumPath => Environment.GetEnvironmentVariable("CHROMIUM_PATH") is { Length: > 0 } p ? p : "/usr/bin/chromium";

    public static Task<IBrowser> LaunchAsync(IPlaywright pw)
    {
        Assert.True(File.Exists(ChromiumPath), $"Chromium not found at {ChromiumPath}: `apt-get install chromium` (scripts/test.sh does)");
        return pw.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
    }

    /// <summary>A gateway on a free loopback port, in memory, with a virtual fleet of <paramref name="devices"/> (0: none).</summary>
    public static Task<GatewayServer> StartGatewayAsync(string user, string password, int devices, int groups = 1, double gatewayUpKbps = 0,
        double deviceUpKbps = 0, double deviceDownKbps = 0) =>
        GatewayServer.StartAsync(new ServeOptions
        {
            Urls = $"http://127.0.0.1:{EmbeddedBroker.FreePort()}",
            Devices = devices,
            Simulation = devices > 0 ? new ServeSimulation() : null,
            Groups = groups,
            User = user,
            Password = password,
            GatewayUpKbps = gatewayUpKbps,
            DeviceUpKbps = deviceUpKbps,
            DeviceDownKbps = deviceDownKbps,
            Storage = IotOta.Gateway.Persistence.StorageOptions.InMemory,
        }, null, CancellationToken.None);

    /// <summary>tests/Browser.Tests/artifacts (gitignored), found from the test's bin folder.</summary>
    public static string ArtifactsDir()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "Browser.Tests.csproj"))) dir = dir.Parent;
        string path = Path.Combine(dir?.FullName ?? AppContext.BaseDirectory, "artifacts");
        Directory.CreateDirectory(path);
        return path;
    }

    public static async Task LogInAsync(IPage page, string url, string user, string password)
    {
        await page.GotoAsync(url + "/");
        await page.FillAsync("#login-user", user);
        await page.FillAsync("#login-password", password);
        await page.ClickAsync("#login-submit");
        await Assertions.Expect(page.Locator("#app-view")).ToBeVisibleAsync();
    }
}
