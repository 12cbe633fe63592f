using IotOta.Gateway.Api;
using IotOta.Gateway.Images;
using IotOta.Gateway.Persistence;
using IotOta.Shared.Protocol;
using IotOta.TestSupport;

namespace IotOta.FleetFaults.Tests;

/// <summary>The SQLite stores keep images, rollouts and device progress across a reopen of the file.</summary>
public sealed class SqliteStoreTests
{
    private static StoredImage Image(ManifestSigner signer, string version, int seed, int size = 10_000)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        var img = FirmwareImage.Create(bytes, FirmwareVersion.Parse(version), signer, 1024, imageId: (uint)(seed * 2 + 1));
        return new StoredImage(img.ImageId.ToString("x8"), version, "esp32", size, img.ChunkSize, img.ChunkCount, "00", DateTimeOffset.UtcNow, "a.bin") { Image = img };
    }

    [Fact]
    public void Images_survive_a_reopen_with_bytes_and_signed_manifest()
    {
        using var dir = new TempDir();
        using var signer = ManifestSigner.Generate();
        string path = dir.File("g.db");
        var a = Image(signer, "2.0.0", 1);
        using (var db = new GatewayDatabase(path))
        {
            var store = new SqliteImageStore(db);
            Assert.True(store.TryAdd(a));
            Assert.False(store.TryAdd(Image(signer, "2.0.0", 7)));  // same version and board
            Assert.True(store.TryAdd(Image(signer, "2.0.1", 2)));
        }
        using (var db = new GatewayDatabase(path))
        {
            var store = new SqliteImageStore(db);
            Assert.Equal(2, store.List().Count);
            var back = store.Get(a.Id)!;
            Assert.Equal(a.Image.Bytes, back.Image.Bytes);
            Assert.Equal(a.Image.ManifestBytes, back.Image.ManifestBytes);
            Assert.Equal(a.Image.ImageId, back.Image.ImageId);
            Assert.Equal("a.bin", back.FileName);
            Assert.True(store.Remove(a.Id));
            Assert.False(store.Remove(a.Id));
            Assert.Single(store.List());
        }
    }

    [Fact]
    public void Rollouts_keep_their_state_and_progress_unions_and_a_crash_stops_writes()
    {
        using var dir = new TempDir();
        string path = dir.File("g.db");
        using (var db = new GatewayDatabase(path))
        {
            var store = new SqliteRolloutStore(db);
            var created = new PersistedRollout("r1", "abc", "2.0.0", [1, 2], 0, 0, 60, DateTimeOffset.UtcNow, RolloutStates.Created,
                null, null, null, [], 0, []);
            store.Add(Rollout.FromPersisted(created));
            var running = created with { State = RolloutStates.Running, Phases = [[1], [2]], Phase = 1, TargetDevices = [1, 2, 3] };
            store.Update(Rollout.FromPersisted(running));
            db.SaveProgress(5, 77, 10, [0b0000_0011, 0]);
            db.SaveProgress(5, 77, 10, [0b0000_0100, 0b10]); // a later report never takes a held packet back
            db.SimulateCrash();
            store.Update(Rollout.FromPersisted(running with { State = RolloutStates.Failed })); // not written: the process is "dead"
            db.SaveProgress(5, 77, 10, [0xff, 0x3]);
        }
        using (var db = new GatewayDatabase(path))
        {
            var store = new SqliteRolloutStore(db);
            var r = store.Get("r1")!;
            Assert.Equal(RolloutStates.Running, r.State);
            Assert.Equal(1, r.Phase);
            Assert.Equal(new uint[] { 1, 2, 3 }, r.TargetDevices);
            Assert.Equal(2, r.Phases.Count);
            var held = db.LoadProgress(77);
            Assert.Equal(new byte[] { 0b0000_0111, 0b10 }, held[5]);
        }
    }
}
