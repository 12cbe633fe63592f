using IotOta.DeviceFirmware.Tests.Support;
using IotOta.Shared.Protocol;
using static IotOta.DeviceFirmware.Tests.Support.Images;

namespace IotOta.DeviceFirmware.Tests.Agent;

public class DeviceAgentManifestTests
{
    [Fact]
    public void Fresh_device_is_idle_on_the_factory_version_in_slot_A()
    {
        using var d = new DeviceHarness();
        Assert.Equal(DeviceState.Idle, d.Agent.State);
        Assert.True(d.Agent.RunningVersion.SameAs(V(1, 0, 0)));
        Assert.Equal(0, d.Agent.ActiveSlot);
        Assert.Equal(0u, d.Agent.CurrentImageId);
    }

    [Fact]
    public void Manifest_signed_by_the_trusted_key_is_accepted_and_the_inactive_slot_erased()
    {
        using var d = new DeviceHarness();
        var img = Create(V(1, 1, 0));
        byte[] junk = RandomBytes(4096, 7);
        d.Flash.Slot(1).Write(0, junk, 0, junk.Length);

        d.Manifest(img);

        Assert.Equal(DeviceState.Receiving, d.Agent.State);
        Assert.Equal(img.ImageId, d.Agent.CurrentImageId);
        Assert.Equal(img.ChunkCount, d.Agent.ChunkCount);
        Assert.Equal(0, d.Agent.HeldCount);
        Assert.Equal(0, d.Counters.ManifestsRefused);
        Assert.All(d.ReadSlot(1, 0, img.Bytes.Length), b => Assert.Equal(0xFF, b));
    }

    private static void AssertRefused(DeviceHarness d, int refused = 1)
    {
        Assert.Equal(refused, d.Counters.ManifestsRefused);
        Assert.Equal(DeviceState.Idle, d.Agent.State);
        Assert.Equal(0u, d.Agent.CurrentImageId);
    }

    [Fact]
    public void Manifest_signed_by_another_key_under_the_trusted_id_is_refused()
    {
        using var d = new DeviceHarness();
        d.Manifest(Create(V(1, 1, 0), signer: TestKeys.Impostor));
        AssertRefused(d);
    }

    [Fact]
    public void Manifest_changed_after_signing_is_refused()
    {
        using var d = new DeviceHarness();
        var img = Create(V(1, 1, 0));
        byte[] m = (byte[])img.ManifestBytes.Clone();
        m[60] ^= 0x01; // inside the signed chunk-hash table
        d.Manifest(m);
        AssertRefused(d);
    }

    [Fact]
    public void Manifest_under_an_unknown_key_id_is_refused()
    {
        using var d = new DeviceHarness();
        d.Manifest(Create(V(1, 1, 0), signer: TestKeys.Unknown));
        AssertRefused(d);
    }

    [Fact]
    public void Older_version_without_the_rollback_flag_is_refused()
    {
        using var d = new DeviceHarness(configure: c => c.FactoryVersion = V(2, 0, 0));
        d.Manifest(Create(V(1, 9, 9)));
        AssertRefused(d);
    }

    [Fact]
    public void Older_version_with_a_signed_rollback_flag_is_accepted()
    {
        using var d = new DeviceHarness(configure: c => c.FactoryVersion = V(2, 0, 0));
        var img = Create(V(1, 9, 9), rollback: true);
        d.Manifest(img);
        Assert.Equal(0, d.Counters.ManifestsRefused);
        Assert.Equal(DeviceState.Receiving, d.Agent.State);
        Assert.Equal(img.ImageId, d.Agent.CurrentImageId);
    }

    [Fact]
    public void Rollback_flag_set_after_signing_is_refused()
    {
        using var d = new DeviceHarness(configure: c => c.FactoryVersion = V(2, 0, 0));
        var img = Create(V(1, 9, 9));
        byte[] m = (byte[])img.ManifestBytes.Clone();
        m[4 + 4 + 6] |= Manifest.FlagRollback; // flags byte after header, image id, version
        d.Manifest(m);
        AssertRefused(d);
    }

    [Fact]
    public void Chunk_size_above_the_device_maximum_is_refused()
    {
        using var d = new DeviceHarness(configure: c => c.MaxChunkSize = 1024);
        d.Manifest(Create(V(1, 1, 0), chunks: 3, chunkSize: 2048));
        AssertRefused(d);

        d.Manifest(Create(V(1, 1, 0), chunks: 3, chunkSize: 1024, seed: 2));
        Assert.Equal(DeviceState.Receiving, d.Agent.State);
    }

    [Fact]
    public void Image_larger_than_the_slot_is_refused()
    {
        using var d = new DeviceHarness();
        int chunkSize = 4096;
        int chunks = DeviceHarness.SlotSize / chunkSize + 1;
        d.Manifest(Create(V(1, 1, 0), chunks: chunks, chunkSize: chunkSize, tail: chunkSize - 1));
        AssertRefused(d);
    }

    [Fact]
    public void Image_exactly_the_slot_size_is_accepted()
    {
        using var d = new DeviceHarness();
        d.Manifest(Create(V(1, 1, 0), chunks: DeviceHarness.SlotSize / 4096, chunkSize: 4096, tail: 0));
        Assert.Equal(0, d.Counters.ManifestsRefused);
        Assert.Equal(DeviceState.Receiving, d.Agent.State);
    }

    [Fact]
    public void Same_image_id_again_is_ignored_and_keeps_what_is_held()
    {
        using var d = new DeviceHarness();
        var img = Create(V(1, 1, 0));
        d.Manifest(img);
        d.Original(img, 0);
        d.Original(img, 1);
        long erases = d.Flash.Flash.EraseCount;

        d.Manifest(img);

        Assert.Equal(2, d.Agent.HeldCount);
        Assert.Equal(erases, d.Flash.Flash.EraseCount);
        Assert.Equal(0, d.Counters.ManifestsRefused);
        Assert.Equal(Chunk(img, 1), d.ReadSlot(1, img.ChunkSize, img.ChunkSize));
    }

    [Fact]
    public void Same_version_as_running_is_ignored()
    {
        using var d = new DeviceHarness();
        d.Manifest(Create(V(1, 0, 0)));
        Assert.Equal(0, d.Counters.ManifestsRefused);
        Assert.Equal(DeviceState.Idle, d.Agent.State);
        Assert.Equal(0u, d.Agent.CurrentImageId);
    }

    [Fact]
    public void A_newer_manifest_replaces_the_update_in_progress()
    {
        using var d = new DeviceHarness();
        var a = Create(V(1, 1, 0), seed: 1);
        var b = Create(V(1, 2, 0), seed: 2);
        d.Manifest(a);
        d.Original(a, 0);
        d.Manifest(b);
        Assert.Equal(b.ImageId, d.Agent.CurrentImageId);
        Assert.Equal(0, d.Agent.HeldCount);
        d.Original(a, 1); // the old image's packets are now ignored
        Assert.Equal(0, d.Agent.HeldCount);
        Assert.Equal(1, d.Counters.PacketsWritten);
    }
}
