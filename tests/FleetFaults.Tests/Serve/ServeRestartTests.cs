using IotOta.Simulation.Serve;
using IotOta.VirtualDevice.Host;
using IotOta.Gateway.Api;
using IotOta.Gateway.Rollouts;
using IotOta.Gateway.Mqtt;
using IotOta.Simulation.Demo;
using IotOta.Gateway.Persistence;
using IotOta.Gateway.Serve;
using IotOta.FleetFaults.Tests.Persistence;
using IotOta.Shared.Protocol;
using IotOta.TestSupport;
using Xunit.Abstractions;

namespace IotOta.FleetFaults.Tests.Serve;

/// <summary>`serve` on a durable store, stopped and started again in this process: what it stored is still there, and
/// a rollout that was running runs on to the end.</summary>
public sealed class ServeRestartTests(PostgresFixture pg, ITestOutputHelper output) : IClassFixture<PostgresFixture>
{
    private static ServeOptions Options(StorageOptions storage, int devices) => new()
    {
        Urls = $"http://127.0.0.1:{EmbeddedBroker.FreePort()}",
        Devices = devices,
        Simulation = devices > 0 ? new ServeSimulation() : null,
        Groups = Math.Min(2, Math.Max(1, devices)),
        User = "op",
        Password = "test-password-1",
        // slow enough that the stop lands mid-rollout
        GatewayUpKbps = devices > 0 ? 1200 : 0,
        Storage = storage,
    };

    private static VirtualFleet Fleet(GatewayServer s) => ((ServeSimulation)s.Options.Simulation!).Fleet!;

    private static byte[] Bytes(int size, int seed)
    {
        var b = new byte[size];
        new Random(seed).NextBytes(b);
        return b;
    }

    [Fact]
    public async Task A_restarted_serve_on_sqlite_lists_what_it_had_and_resumes_the_running_rollout()
    {
        using var dir = new TempDir("iotota-serve-");
        var storage = new StorageOptions { Provider = StorageOptions.Sqlite, SqlitePath = dir.File("state/gateway.db") };
        string imageId, rolloutId;
        await using (var s1 = await GatewayServer.StartAsync(Options(storage, 4), output.WriteLine, CancellationToken.None))
        {
            Assert.Equal(dir.File("state/gateway.db"), s1.Storage);
            var img = s1.Manager.AddImage(Bytes(160 * 1024, 3), "2.0.0", null, "fw.bin");
            imageId = img.Id;
            rolloutId = s1.Manager.Start(s1.Manager.Create(new CreateRolloutRequest(img.Id, TimeoutSeconds: 120)).Id).Id;
            long need = (long)(0.3 * img.ChunkCount * 4);
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (Fleet(s1).Devices.Sum(d => (long)d.Agent.HeldCount) < need && DateTime.UtcNow < deadline) await Task.Delay(10);
            Assert.True(Fleet(s1).Devices.Sum(d => (long)d.Agent.HeldCount) >= need, "the rollout did not get going");
            Assert.NotEqual(RolloutStates.Completed, s1.Manager.Get(rolloutId).State);
        } // a stop leaves the rollout running in the store

        await using var s2 = await GatewayServer.StartAsync(Options(storage, 4), output.WriteLine, CancellationToken.None);
        var stored = Assert.Single(s2.Manager.Images.List());
        Assert.Equal(imageId, stored.Id);
        Assert.Equal(Bytes(160 * 1024, 3), stored.Image.Bytes);
        Assert.Equal(4, s2.Manager.Devices().Count);
        Assert.Equal([rolloutId], await s2.Resumed.WaitAsync(TimeSpan.FromSeconds(60)));
        await s2.Manager.WaitAsync(rolloutId).WaitAsync(TimeSpan.FromSeconds(120));
        var r = s2.Manager.Get(rolloutId);
        Assert.True(r.State == RolloutStates.Completed, $"{r.State}: {r.Message}");
        var deadline2 = DateTime.UtcNow.AddSeconds(20);
        while (!Fleet(s2).Devices.All(d => d.Agent.State == DeviceState.Updated) && DateTime.UtcNow < deadline2) await Task.Delay(50);
        Assert.All(Fleet(s2).Devices, d => Assert.True(DemoRunner.SlotMatches(d, Bytes(160 * 1024, 3)), $"device {d.NodeId} slot differs"));
        // The devices kept their flash through the restart: the new gateway sent less than one image.
        Assert.InRange(r.PhaseResults.Sum(x => x.GatewayPayloadBytes), 0, 160 * 1024 - 1);
    }

    [Fact]
    public async Task A_restarted_serve_on_postgres_lists_its_images_rollouts_and_keeps_its_signing_key()
    {
        var storage = new StorageOptions { PostgresConnectionString = await pg.Server.CreateDatabaseAsync() };
        Assert.Equal(StorageOptions.Postgres, storage.EffectiveProvider);
        // two devices seen by an earlier run, in groups 1 and 2 (none is online now)
        using (var db = storage.Open()!)
        {
            foreach (uint n in new uint[] { 1, 2 })
                db.SaveDevice(new IotOta.Gateway.Fleet.DeviceRecord(n, (int)n, 0x7F000001, 40000 + (int)n, true, new FirmwareVersion(1, 0, 0),
                    DeviceState.Idle, DateTimeOffset.UtcNow, 0, 0, 0));
        }
        string key;
        await using (var s1 = await GatewayServer.StartAsync(Options(storage, 0), output.WriteLine, CancellationToken.None))
        {
            Assert.StartsWith("postgres://127.0.0.1:", s1.Storage);
            Assert.Equal([(1u, 1, false), (2u, 2, false)], s1.Manager.Devices().Select(d => (d.NodeId, d.GroupId, d.Online)).ToArray());
            var img = s1.Manager.AddImage(Bytes(20_000, 5), "3.1.0", "esp32-c3", "c3.bin");
            s1.Manager.Create(new CreateRolloutRequest(img.Id, Groups: [1, 2], CanaryGroups: 1));
            key = s1.Database!.GetSetting("signing-key-pem")!;
            Assert.Contains("PRIVATE KEY", key);
        }
        await using var s2 = await GatewayServer.StartAsync(Options(storage, 0), output.WriteLine, CancellationToken.None);
        var stored = Assert.Single(s2.Manager.Images.List());
        Assert.Equal(("3.1.0", "esp32-c3", "c3.bin"), (stored.Version, stored.Board, stored.FileName));
        Assert.Equal(Bytes(20_000, 5), stored.Image.Bytes);
        var r = Assert.Single(s2.Manager.Rollouts.List());
        Assert.Equal((RolloutStates.Created, 1), (r.State, r.CanaryGroups));
        Assert.Equal(key, s2.Database!.GetSetting("signing-key-pem"));
        Assert.Equal(2, s2.Manager.Groups().Count);
        Assert.Empty(await s2.Resumed);
        // ids go on from the stored ones
        Assert.Equal("r2", s2.Manager.Create(new CreateRolloutRequest(stored.Id)).Id);
    }
}
