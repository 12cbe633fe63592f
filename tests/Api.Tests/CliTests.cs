using IotOta.Cli;
using Spectre.Console;
using Spectre.Console.Testing;

namespace IotOta.Api.Tests;

/// <summary>The `iotota` CLI in process against the test gateway.</summary>
[Collection(ServerCollection.Name)]
public sealed class CliTests(ServerFixture f)
{
    private async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        var console = new TestConsole();
        console.Profile.Width = 200;
        var err = new StringWriter();
        string[] all = [.. args, "--server", f.Server.Url, "--user", ServerFixture.User, "--password", ServerFixture.Password];
        int code = await CliApp.RunAsync(all, console, err);
        return (code, console.Output, err.ToString());
    }

    [Fact]
    public async Task Push_start_wait_and_status_drive_a_rollout()
    {
        string version = f.NextVersion();
        string file = Path.Combine(Path.GetTempPath(), $"iotota-cli-{Guid.NewGuid():N}.bin");
        await File.WriteAllBytesAsync(file, ServerFixture.RandomImage(40_000, 21));
        try
        {
            var push = await Run("image", "push", file, "--version", version);
            Assert.True(push.Code == 0, push.Err);
            Assert.Contains($"version {version}", push.Out);

            var again = await Run("image", "push", file, "--version", version);
            Assert.Equal(2, again.Code);
            Assert.Contains("409", again.Err);

            var start = await Run("rollout", "start", version, "--wait");
            Assert.True(start.Code == 0, start.Out + start.Err);
            Assert.Contains("completed", start.Out);
            Assert.Contains("group 3: 2/2 updated", start.Out);

            var status = await Run("rollout", "status");
            Assert.Equal(0, status.Code);
            Assert.Contains("completed 100", status.Out);

            var pause = await Run("rollout", "pause");
            Assert.Equal(2, pause.Code);
            Assert.Contains("only a running rollout can pause", pause.Err);

            var devices = await Run("devices");
            Assert.Equal(0, devices.Code);
            Assert.Contains(version, devices.Out);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Usage_errors_and_bad_credentials_have_their_exit_codes()
    {
        Assert.Equal(2, (await Run("image", "push", "/no/such/file.bin", "--version", "1.2.3")).Code);
        Assert.Equal(2, (await Run("image", "push")).Code);
        Assert.Equal(2, (await Run("rollout", "frobnicate")).Code);
        var bad = await Run("image", "push", typeof(CliTests).Assembly.Location, "--version", "x.y");
        Assert.Equal(2, bad.Code);
        Assert.Contains("Bad version", bad.Err);

        var err = new StringWriter();
        int code = await CliApp.RunAsync(["devices", "--server", f.Server.Url, "--user", "operator", "--password", "wrong"], new TestConsole(), err);
        Assert.Equal(1, code);
        Assert.Contains("401", err.ToString());

        var unreachable = new StringWriter();
        code = await CliApp.RunAsync(["devices", "--server", "http://127.0.0.1:1", "--password", "x"], new TestConsole(), unreachable);
        Assert.Equal(1, code);
        Assert.Contains("cannot reach", unreachable.ToString());
    }
}
