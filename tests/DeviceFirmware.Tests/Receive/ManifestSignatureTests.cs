using System.Buffers.Binary;
using IotOta.DeviceFirmware.Tests.Support;
using IotOta.Shared.Chunking;
using IotOta.Shared.Protocol;
using static IotOta.DeviceFirmware.Tests.Support.Images;

namespace IotOta.DeviceFirmware.Tests.Receive;

/// <summary>The stored manifest's signature is checked again at boot (streamed from flash through the hash, the
/// signature verified over the digest): a stored update whose signed bytes changed, or whose key is no longer
/// trusted, is cleared; a genuine one resumes.</summary>
public class ManifestSignatureTests
{
    private const int StateHeader = 16;

    [Fact]
    public void A_genuine_stored_manifest_resumes_after_the_boot_check()
    {
        using var d = new DeviceHarness();
        var img = Create(V(1, 1, 0));
        d.Manifest(img);
        d.Original(img, 0);
        d.Original(img, 1);
        d.Reboot();
        Assert.Equal(0, d.Counters.StoredSignatureFailures);
        Assert.Equal(DeviceState.Receiving, d.Agent.State);
        Assert.Equal(2, d.Agent.HeldCount);
    }

    [Fact]
    public void A_stored_manifest_altered_in_flash_with_a_matching_crc_is_cleared_at_boot()
    {
        using var d = new DeviceHarness();
        var img = Create(V(1, 1, 0));
        d.Manifest(img);
        d.Original(img, 0);
        d.Original(img, 1);
        // chunk 3's hash changed and the header's CRC made to match: only the signature can tell
        AlterStoredManifest(d, Manifest.ChunkHashesOffset + 3 * Manifest.HashLength + 7);
        d.Reboot();
        Assert.Equal(1, d.Counters.StoredSignatureFailures);
        Assert.Equal(0, d.Agent.HeldCount);
        Assert.NotEqual(DeviceState.Receiving, d.Agent.State);
        Assert.Contains(d.Log.Lines, l => l.Contains("signature does not verify"));
        // the genuine manifest is taken again and the image arrives whole
        d.Manifest(img);
        Assert.Equal(DeviceState.Receiving, d.Agent.State);
        for (int i = 0; i < img.ChunkCount; i++) d.Original(img, i);
        d.PumpAll();
        Assert.Equal(1, d.Restarts.Count);
        Assert.Equal(img.Bytes, d.ReadSlot(1, 0, img.Bytes.Length));
    }

    [Fact]
    public void A_stored_manifest_whose_key_is_no_longer_trusted_is_cleared_at_boot()
    {
        using var d = new DeviceHarness();
        var img = Create(V(1, 1, 0));
        d.Manifest(img);
        d.Original(img, 0);
        d.Verifier.Add(TestKeys.TrustedId, TestKeys.Impostor.PublicKey()); // the key under id 1 was replaced
        d.Reboot();
        Assert.Equal(1, d.Counters.StoredSignatureFailures);
        Assert.Equal(0, d.Agent.HeldCount);
    }

    /// <summary>Flips one bit of the stored manifest at byte at and rewrites the state header's CRC to match.</summary>
    private static void AlterStoredManifest(DeviceHarness d, int at)
    {
        var part = d.Flash.UpdateState;
        var s = new byte[2 * part.SectorSize];
        part.Read(0, s, 0, s.Length);
        int len = BinaryPrimitives.ReadInt32LittleEndian(s.AsSpan(4));
        Assert.InRange(at, 0, len - 1);
        s[StateHeader + at] ^= 0x01;
        BinaryPrimitives.WriteUInt32LittleEndian(s.AsSpan(12), Crc32.Compute(s, StateHeader, len));
        part.Erase(0, s.Length);
        part.Write(0, s, 0, s.Length);
    }
}
