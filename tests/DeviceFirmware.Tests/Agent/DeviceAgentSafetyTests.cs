using IotOta.DeviceFirmware.Flash;
using IotOta.DeviceFirmware.Tests.Support;
using IotOta.Gateway.Images;
using IotOta.Shared.Protocol;
using IotOta.VirtualDevice.Flash;
using static IotOta.DeviceFirmware.Tests.Support.Images;

namespace IotOta.DeviceFirmware.Tests.Agent;

/// <summary>Issue 5: torn flash on resume, trial timeout and self-test failure, quarantine, replays.</summary>
public class DeviceAgentSafetyTests
{
    private static void InstallAndBootTrial(DeviceHarness d, FirmwareImage img)
    {
        d.Manifest(img);
        for (int i = 0; i < img.ChunkCount; i++) d.Original(img, i);
        d.PumpAll();
        d.Reboot();
        Assert.Equal(DeviceState.PendingConfirm, d.Agent.State);
    }

    [Fact]
    public void Torn_chunk_write_in_a_shared_sector_is_cleaned_on_resume_and_the_held_neighbours_survive()
    {
        using var d = new DeviceHarness();
        var img = Create(V(1, 1, 0), chunks: 12); // 256-byte chunks: 16 per 4 KiB sector
        d.Manifest(img);
        d.Original(img, 0);
        d.Original(img, 2);
        d.Flash.Flash.PowerCut = op => op.Partition == "slotB" && op.Kind == FlashOpKind.Write;
        Assert.Throws<PowerCutException>(() => d.Original(img, 1)); // half of chunk 1 lands, its bit does not
        d.Reboot();

        Assert.Equal(2, d.Agent.HeldCount); // resumed from the bitmap
        Assert.Equal(1, d.Counters.ResumeSectorsCleaned);
        Assert.Equal(Chunk(img, 0), d.ReadSlot(1, 0, 256)); // rewritten after the sector erase
        for (int i = 0; i < img.ChunkCount; i++) d.Original(img, i);
        d.PumpAll();
        Assert.Equal(1, d.Restarts.Count);
        Assert.Equal(img.Bytes, d.ReadSlot(1, 0, img.Bytes.Length));
    }

    [Fact]
    public void A_claimed_packet_whose_flash_bytes_are_wrong_is_not_held_after_a_restart()
    {
        using var d = new DeviceHarness();
        var img = Create(V(1, 1, 0), chunks: 12);
        d.Manifest(img);
        d.Original(img, 3);
        d.Original(img, 4);
        var zeros = new byte[16];
        d.Flash.Slot(1).Write(3 * 256 + 10, zeros, 0, zeros.Length); // corrupt chunk 3 behind the device's back
        d.Reboot();
        Assert.Equal(1, d.Agent.HeldCount);
        Assert.Equal(1, d.Counters.ResumeHeldInvalid);
        for (int i = 0; i < img.ChunkCount; i++) d.Original(img, i);
        d.PumpAll();
        Assert.Equal(img.Bytes, d.ReadSlot(1, 0, img.Bytes.Length));
    }

    [Theory]
    [InlineData(ChunkHashKind.Sha256)]
    [InlineData(ChunkHashKind.HmacSha256PublicKey)]
    public void After_a_restart_held_packets_are_hashed_again_a_piece_at_a_time_with_either_hash_kind(ChunkHashKind kind)
    {
        using var d = new DeviceHarness();
        // 1 KiB chunks (four 256-byte pieces each) and a last chunk of 700 bytes (not a whole piece)
        var img = FirmwareImage.Create(RandomBytes(5 * 1024 + 700, 3), V(1, 1, 0), TestKeys.Trusted, 1024, kind, null, false);
        d.Manifest(img);
        foreach (int i in new[] { 0, 2, 3, 5 }) d.Original(img, i);
        var zeros = new byte[4];
        d.Flash.Slot(1).Write(3 * 1024 + 900, zeros, 0, zeros.Length); // corrupt chunk 3 in its last piece
        d.Reboot();
        Assert.Equal(3, d.Agent.HeldCount); // 0, 2 and the short last one verified; 3 not
        Assert.Equal(1, d.Counters.ResumeHeldInvalid);
        DeliverAllAndAssertInstalled(d, img);
    }

    [Theory]
    [InlineData(ChunkHashKind.Sha256)]
    [InlineData(ChunkHashKind.HmacSha256PublicKey)]
    public void A_sequential_sinks_prefix_and_staged_packets_are_hashed_again_a_piece_at_a_time_after_a_restart(ChunkHashKind kind)
    {
        using var d = new DeviceHarness(configure: c => c.MaxChunkSize = 1024, sequential: true, stagingSize: 4 * 4096);
        var img = FirmwareImage.Create(RandomBytes(5 * 1024 + 700, 4), V(1, 1, 0), TestKeys.Trusted, 1024, kind, null, false);
        d.Manifest(img);
        foreach (int i in new[] { 0, 1, 3, 5 }) d.Original(img, i); // 0 and 1 in the slot, 3 and 5 staged
        d.Reboot();
        Assert.Equal(4, d.Agent.HeldCount);
        Assert.Equal(0, d.Counters.ResumeHeldInvalid);
        DeliverAllAndAssertInstalled(d, img);
    }

    /// <summary>Every packet of the image again: the device installs it (one restart) and the slot holds it.</summary>
    private static void DeliverAllAndAssertInstalled(DeviceHarness d, FirmwareImage img)
    {
        for (int i = 0; i < img.ChunkCount; i++) d.Original(img, i);
        d.PumpAll();
        Assert.Equal(1, d.Restarts.Count);
        Assert.Equal(img.Bytes, d.ReadSlot(1, 0, img.Bytes.Length));
    }

    [Fact]
    public void Power_cut_while_confirming_keeps_the_new_image()
    {
        using var d = new DeviceHarness();
        var img = Create(V(1, 1, 0));
        InstallAndBootTrial(d, img);
        d.Flash.Flash.PowerCut = op => op.Partition == "boot";
        Assert.Throws<PowerCutException>(() => d.Agent.OnConnected());
        d.Reboot();
        Assert.True(d.Agent.RunningVersion.SameAs(V(1, 1, 0)));
        Assert.NotEqual(DeviceState.RolledBack, d.Agent.State);
        Assert.Equal(BootState.Confirmed, d.LoadBootRecord().State);
    }

    [Fact]
    public void Trial_not_confirmed_within_the_timeout_restarts_into_the_previous_image_and_reports_it()
    {
        using var d = new DeviceHarness(configure: c => c.TrialTimeoutMs = 5000);
        var img = Create(V(1, 1, 0));
        InstallAndBootTrial(d, img);
        d.Agent.Tick();
        Assert.Equal(0, d.Restarts.Count);
        d.Clock.Advance(5000);
        d.Agent.Tick();
        Assert.Equal(1, d.Restarts.Count);
        Assert.Equal(1, d.Counters.TrialsAbandoned);
        d.Agent.OnConnected(); // too late: no confirmation after giving up
        Assert.Equal(BootState.Trial, d.LoadBootRecord().State);

        d.Reboot();
        Assert.Equal(DeviceState.RolledBack, d.Agent.State);
        Assert.True(d.Agent.RunningVersion.SameAs(V(1, 0, 0)));
        d.Agent.OnConnected();
        var pres = Parsed.Presence(d.Mqtt.Published.Last(p => p.Topic == d.StatusTopic).Bytes);
        Assert.Equal(DeviceState.RolledBack, pres.State);
        Assert.True(pres.RunningVersion.SameAs(V(1, 0, 0)));
        // the presence says it (version and state): no progress report follows it
        d.Agent.Tick();
        Assert.Empty(d.Out(MessageType.ProgressReport));

        // the retained manifest of the failed image is not installed again
        d.Manifest(img);
        Assert.Equal(1, d.Counters.ManifestsRefused);
        Assert.NotEqual(DeviceState.Receiving, d.Agent.State);
    }

    [Fact]
    public void Failed_self_test_rolls_back()
    {
        using var d = new DeviceHarness();
        InstallAndBootTrial(d, Create(V(1, 1, 0)));
        d.Agent.SelfTestFailed("sensor missing");
        Assert.Equal(1, d.Restarts.Count);
        d.Reboot();
        Assert.Equal(DeviceState.RolledBack, d.Agent.State);
        Assert.Equal(0, d.Agent.ActiveSlot);
    }

    [Fact]
    public void A_new_manifest_during_the_trial_is_deferred_so_the_rollback_slot_survives()
    {
        using var d = new DeviceHarness();
        InstallAndBootTrial(d, Create(V(1, 1, 0), seed: 1));
        byte[] before = d.ReadSlot(0, 0, 4096);
        d.Manifest(Create(V(1, 2, 0), seed: 2));
        Assert.Equal(1, d.Counters.ManifestsDeferred);
        Assert.Equal(before, d.ReadSlot(0, 0, 4096));
        Assert.Equal(DeviceState.PendingConfirm, d.Agent.State);
    }

    [Fact]
    public void Peer_sending_bad_packets_is_quarantined_and_never_asked_for_repairs()
    {
        using var d = new DeviceHarness(nodeId: 1, configure: c => c.QuarantineStrikes = 3);
        d.Members(1, 1, 2, 3);
        var img = Create(V(1, 1, 0), chunks: 8);
        d.Manifest(img);
        for (int k = 0; k < 3; k++)
        {
            byte[] bad = Copy(img, k, sender: 3);
            bad[^1] ^= 0xFF;
            d.Agent.OnPeerMessage(77, bad, 0, bad.Length);
        }
        Assert.True(d.Agent.IsPeerQuarantined(3));
        Assert.True(d.Agent.IsConnectionQuarantined(77));
        Assert.False(d.Agent.IsPeerQuarantined(2));
        d.FromPeer(Copy(img, 0, sender: 3)); // even a good copy from it is dropped
        Assert.Equal(0, d.Agent.HeldCount);
        byte[] viaConn = Copy(img, 1, sender: 2); // claims H but arrives on the quarantined connection
        d.Agent.OnPeerMessage(77, viaConn, 0, viaConn.Length);
        Assert.Equal(0, d.Agent.HeldCount);
        Assert.Equal(2, d.Counters.QuarantinedDrops);

        for (int round = 0; round < 12; round++)
        {
            d.Clock.Advance(2000);
            d.Agent.Tick();
        }
        Assert.DoesNotContain(d.Peer.Sends, s => s.Port == DeviceHarness.PortOf(3));
        Assert.Contains(d.Peer.Sends, s => s.Port == DeviceHarness.PortOf(2));
        Assert.NotEmpty(d.Out(MessageType.RepairRequest)); // and the gateway

        d.FromPeer(Copy(img, 0, sender: 2)); // the honest peer still delivers
        Assert.Equal(1, d.Agent.HeldCount);
    }

    [Fact]
    public void Replayed_packets_of_an_old_image_and_duplicates_are_counted_and_harmless()
    {
        using var d = new DeviceHarness();
        var old = Create(V(1, 0, 5), seed: 7);
        var img = Create(V(1, 1, 0), seed: 8);
        d.Manifest(img);
        d.FromPeer(Copy(img, 2, sender: 5));
        d.FromPeer(Copy(old, 2, sender: 5));
        d.FromPeer(Copy(img, 2, sender: 5));
        Assert.Equal(1, d.Counters.StalePackets);
        Assert.Equal(1, d.Counters.DuplicatePackets);
        Assert.Equal(1, d.Counters.PacketsWritten);
        Assert.False(d.Agent.IsPeerQuarantined(5));
        Assert.Equal(Chunk(img, 2), d.ReadSlot(1, 2 * 256, Chunk(img, 2).Length));
    }
}
