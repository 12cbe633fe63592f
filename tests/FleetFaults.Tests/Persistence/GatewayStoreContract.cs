using IotOta.Gateway.Api;
using IotOta.Gateway.Rollouts;
using IotOta.Gateway.Fleet;
using IotOta.Gateway.Images;
using IotOta.Gateway.Persistence;
using IotOta.Shared.Protocol;

namespace IotOta.FleetFaults.Tests.Persistence;

/// <summary>What every gateway store does, whatever the database: the same tests run on SQLite
/// (<see cref="SqliteStoreTests"/>) and on a real PostgreSQL (<see cref="PostgresStoreTests"/>). Each test opens the
/// store, writes, disposes it, and opens the same store again, the way a restarted gateway does.</summary>
public abstract class GatewayStoreContract
{
    /// <summary>A new, empty store location for one test; <see cref="Open"/> opens it (again).</summary>
    protected abstract Task<string> NewLocationAsync();
    protected abstract GatewayDatabase Open(string location);
    /// <summary>Writes a rollout row the way an earlier gateway version did (raw SQL on its own connection).</summary>
    protected abstract void InsertRawRollout(string location, string id, string createdAt, string json);

    private static StoredImage Image(ManifestSigner signer, string version, int seed, int size = 10_000, string? fileName = "a.bin")
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        var img = FirmwareImage.Create(bytes, FirmwareVersion.Parse(version), signer, 1024, imageId: (uint)(seed * 2 + 1));
        return new StoredImage(img.ImageId.ToString("x8"), version, "esp32", size, img.ChunkSize, img.ChunkCount, "00", DateTimeOffset.UtcNow, fileName) { Image = img };
    }

    [Fact]
    public async Task Images_survive_a_reopen_with_bytes_and_signed_manifest()
    {
        string at = await NewLocationAsync();
        using var signer = ManifestSigner.Generate();
        var a = Image(signer, "2.0.0", 1);
        using (var db = Open(at))
        {
            var store = new DatabaseImageStore(db);
            Assert.True(store.TryAdd(a));
            Assert.False(store.TryAdd(Image(signer, "2.0.0", 7)));  // same version and board
            Assert.False(store.TryAdd(a with { Version = "9.9.9" })); // same id
            Assert.True(store.TryAdd(Image(signer, "2.0.1", 2, fileName: null)));
        }
        using (var db = Open(at))
        {
            var store = new DatabaseImageStore(db);
            Assert.Equal(["2.0.0", "2.0.1"], store.List().Select(i => i.Version).ToArray());
            var back = store.Get(a.Id.ToUpperInvariant())!; // ids are found whatever their case
            Assert.Equal(a.Image.Bytes, back.Image.Bytes);
            Assert.Equal(a.Image.ManifestBytes, back.Image.ManifestBytes);
            Assert.Equal(a.Image.ImageId, back.Image.ImageId);
            Assert.Equal(a.ChunkCount, back.ChunkCount);
            Assert.Equal(a.Size, back.Size);
            Assert.Equal("a.bin", back.FileName);
            Assert.Null(store.List()[1].FileName);
            Assert.True(store.Remove(a.Id));
            Assert.False(store.Remove(a.Id));
            Assert.Null(store.Get(a.Id));
            Assert.Single(store.List());
        }
    }

    [Fact]
    public async Task Rollouts_keep_their_state_and_phase_and_a_crash_stops_every_write()
    {
        string at = await NewLocationAsync();
        var created = new PersistedRollout("r1", "abc", "2.0.0", [1, 2], 1, 2, 60, DateTimeOffset.UtcNow, RolloutStates.Created,
            null, null, null, [], 0, []);
        using (var db = Open(at))
        {
            var store = new DatabaseRolloutStore(db);
            store.Add(Rollout.FromPersisted(created));
            var running = created with { State = RolloutStates.Running, Phases = [[1], [2]], Phase = 1, TargetDevices = [1, 2, 3], StartedAt = DateTimeOffset.UtcNow };
            store.Update(Rollout.FromPersisted(running));
            long writes = db.Writes;
            db.SimulateCrash();
            store.Update(Rollout.FromPersisted(running with { State = RolloutStates.Failed })); // not written: the process is "dead"
            store.Add(Rollout.FromPersisted(created with { Id = "r2" }));
            Assert.Equal(writes, db.Writes);
        }
        using (var db = Open(at))
        {
            var store = new DatabaseRolloutStore(db);
            var r = Assert.Single(store.List());
            Assert.Equal("r1", r.Id);
            Assert.Equal(RolloutStates.Running, r.State);
            Assert.Equal(1, r.Phase);
            Assert.Equal(1, r.CanaryGroups);
            Assert.Equal(2, r.MaxFailures);
            Assert.Equal(new uint[] { 1, 2, 3 }, r.TargetDevices);
            Assert.Equal([[1], [2]], r.Phases.Select(p => p.ToArray()).ToArray());
            Assert.NotNull(r.StartedAt);
        }
    }

    [Fact]
    public async Task A_rollout_keeps_its_window_and_pending_deadline_across_a_reopen()
    {
        string at = await NewLocationAsync();
        var started = new DateTimeOffset(2026, 12, 4, 23, 0, 0, TimeSpan.Zero);
        var running = new PersistedRollout("r1", "abc", "2.0.0", [1], 0, 0, 60, started, RolloutStates.Running, started, null, null, [[1]], 0, [1, 2],
            WindowSeconds: 900, WindowEndsAt: started + TimeSpan.FromSeconds(930), PausedAt: started + TimeSpan.FromSeconds(40));
        using (var db = Open(at))
        {
            var store = new DatabaseRolloutStore(db);
            store.Add(Rollout.FromPersisted(running));
        }
        using (var db = Open(at))
        {
            var r = Assert.Single(new DatabaseRolloutStore(db).List());
            Assert.Equal(900, r.WindowSeconds);
            Assert.Equal(started + TimeSpan.FromSeconds(930), r.WindowEndsAt);
            Assert.Equal(started + TimeSpan.FromSeconds(40), r.PausedAt);
            Assert.Equal(RolloutStates.Running, r.State);
        }
    }

    [Fact]
    public async Task Rollouts_stored_before_the_window_was_kept_load_with_the_default_window_and_are_not_lost()
    {
        string at = await NewLocationAsync();
        using (var db = Open(at)) { } // the tables, as a gateway of that version created them
        // A row as the gateway before this change wrote it (no window fields in its JSON).
        InsertRawRollout(at, "r7", "2026-12-01T10:00:00.0000000+00:00",
            "{\"Id\":\"r7\",\"ImageId\":\"abc\",\"Version\":\"2.0.0\",\"Groups\":[1,2],\"CanaryGroups\":0,\"MaxFailures\":1,\"TimeoutSeconds\":600," +
            "\"CreatedAt\":\"2026-12-01T10:00:00+00:00\",\"State\":\"running\",\"StartedAt\":\"2026-12-01T10:00:01+00:00\",\"EndedAt\":null," +
            "\"Message\":null,\"Phases\":[[1,2]],\"Phase\":0,\"TargetDevices\":[1,2,3]}");
        using (var db = Open(at))
        {
            var store = new DatabaseRolloutStore(db);
            var r = Assert.Single(store.List());
            Assert.Equal("r7", r.Id);
            Assert.Equal(RolloutStates.Running, r.State);
            Assert.Equal(new uint[] { 1, 2, 3 }, r.TargetDevices);
            Assert.Equal(CreateRolloutDefaults.WindowSeconds, r.WindowSeconds); // what it ran with
            Assert.Null(r.WindowEndsAt);
            Assert.Null(r.PausedAt);
            store.Update(r); // written back in the new form
        }
        using (var db = Open(at))
            Assert.Equal(CreateRolloutDefaults.WindowSeconds, Assert.Single(new DatabaseRolloutStore(db).List()).WindowSeconds);
    }

    [Fact]
    public async Task Held_bitmaps_only_grow_and_are_kept_per_device_and_image()
    {
        string at = await NewLocationAsync();
        using (var db = Open(at))
        {
            db.SaveProgress(5, 77, 10, [0b0000_0011, 0]);
            db.SaveProgress(5, 77, 10, [0b0000_0100, 0b10]); // a later report never takes a held packet back
            db.SaveProgress(6, 77, 10, [0b1000_0000, 0]);
            db.SaveProgress(5, 0xFFFF_FFF1u, 10, [1, 0]);     // another image (ids use all 32 bits)
            db.SimulateCrash();
            db.SaveProgress(5, 77, 10, [0xff, 0x3]);
        }
        using (var db = Open(at))
        {
            var held = db.LoadProgress(77);
            Assert.Equal(2, held.Count);
            Assert.Equal(new byte[] { 0b0000_0111, 0b10 }, held[5]);
            Assert.Equal(new byte[] { 0b1000_0000, 0 }, held[6]);
            Assert.Equal(new byte[] { 1, 0 }, db.LoadProgress(0xFFFF_FFF1u)[5]);
            Assert.Empty(db.LoadProgress(78));
        }
    }

    [Fact]
    public async Task Devices_come_back_offline_with_group_address_version_and_state()
    {
        string at = await NewLocationAsync();
        var seen = new DateTimeOffset(2026, 11, 26, 10, 0, 0, TimeSpan.Zero);
        using (var db = Open(at))
        {
            db.SaveDevice(new DeviceRecord(3_000_000_000, 2, 0x7F000001, 40001, true, new FirmwareVersion(1, 0, 0), DeviceState.Receiving, seen, 0, 0, 0));
            db.SaveDevice(new DeviceRecord(3_000_000_000, 3, 0x7F000001, 40002, true, new FirmwareVersion(2, 0, 0), DeviceState.Updated, seen.AddSeconds(5), 0, 0, 0));
            db.SaveDevice(new DeviceRecord(7, 1, 0x0A000001, 40003, false, new FirmwareVersion(1, 2, 3), DeviceState.Idle, seen, 0, 0, 0));
        }
        using (var db = Open(at))
        {
            var all = db.ListDevices();
            Assert.Equal(new uint[] { 7, 3_000_000_000 }, all.Select(d => d.NodeId).ToArray());
            var d = all[1];
            Assert.False(d.Online);
            Assert.Equal(3, d.GroupId);
            Assert.Equal(40002, d.Port);
            Assert.Equal(0x7F000001u, d.Ip);
            Assert.Equal("2.0.0", d.Version.ToString());
            Assert.Equal(DeviceState.Updated, d.State);
            Assert.Equal(seen.AddSeconds(5), d.LastSeen);
            var registry = new DeviceRegistry(TimeProvider.System);
            foreach (var x in all) registry.Restore(x);
            Assert.Equal(2, registry.All().Count);
            Assert.Empty(registry.Online());
        }
    }

    [Fact]
    public async Task A_setting_keeps_its_first_value()
    {
        string at = await NewLocationAsync();
        using (var db = Open(at))
        {
            Assert.Null(db.GetSetting("k"));
            Assert.Equal("one", db.AddSetting("k", "one"));
            Assert.Equal("one", db.AddSetting("k", "two"));
        }
        using (var db = Open(at)) Assert.Equal("one", db.GetSetting("k"));
    }
}
