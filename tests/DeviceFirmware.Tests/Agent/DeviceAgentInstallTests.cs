using IotOta.DeviceFirmware.Flash;
using IotOta.DeviceFirmware.Tests.Support;
using IotOta.Gateway.Images;
using IotOta.Shared.Protocol;
using static IotOta.DeviceFirmware.Tests.Support.Images;

namespace IotOta.DeviceFirmware.Tests.Agent;

public class DeviceAgentInstallTests
{
    private static void ReceiveAll(DeviceHarness d, FirmwareImage img, IEnumerable<int>? indices = null)
    {
        foreach (int i in indices ?? Enumerable.Range(0, img.ChunkCount)) d.Original(img, i);
    }

    [Fact]
    public void Complete_image_is_verified_installed_in_the_other_slot_and_restarts()
    {
        using var d = new DeviceHarness();
        var img = Create(V(1, 1, 0));
        d.Manifest(img);
        ReceiveAll(d, img);
        Assert.Equal(0, d.Restarts.Count); // nothing before the pump
        d.PumpAll();

        Assert.Equal(1, d.Restarts.Count);
        Assert.Equal(1, d.Counters.Installs);
        Assert.Equal(img.ChunkCount, d.Notices().Count); // every original was forwarded before the install
        Assert.True(d.Agent.IsStopped);
        Assert.Equal(img.Bytes, d.ReadSlot(1, 0, img.Bytes.Length));
        BootRecord r = d.LoadBootRecord();
        Assert.Equal(1, r.ActiveSlot);
        Assert.Equal(BootState.Pending, r.State);
        Assert.True(r.Version.SameAs(V(1, 1, 0)));
        Assert.Equal(img.ImageId, r.ImageId);
        Assert.True(r.PreviousVersion.SameAs(V(1, 0, 0)));
        Assert.False(d.Agent.PumpOnce());
    }

    /// <summary>Image 1.1.0 received whole, installed, and the device restarted into it (not connected yet).</summary>
    private static FirmwareImage InstalledAndRestarted(DeviceHarness d)
    {
        var img = Create(V(1, 1, 0));
        d.Manifest(img);
        ReceiveAll(d, img);
        d.PumpAll();
        d.Reboot();
        return img;
    }

    [Fact]
    public void After_restart_the_image_is_on_trial_confirmed_on_connect_and_still_served()
    {
        using var d = new DeviceHarness(nodeId: 1);
        var img = InstalledAndRestarted(d);

        Assert.Equal(DeviceState.PendingConfirm, d.Agent.State);
        Assert.Equal(BootState.Trial, d.LoadBootRecord().State);
        Assert.True(d.Agent.RunningVersion.SameAs(V(1, 1, 0)));
        Assert.Equal(1, d.Agent.ActiveSlot);

        d.Agent.OnConnected();
        Assert.Equal(DeviceState.Updated, d.Agent.State);
        Assert.Equal(BootState.Confirmed, d.LoadBootRecord().State);
        // one presence says both the new version and the confirmed state (each is a message through the broker)
        var status = Assert.Single(d.Mqtt.Published, p => p.Topic == d.StatusTopic);
        Assert.True(status.Retain);
        var pres = Parsed.Presence(status.Bytes);
        Assert.Equal(DeviceState.Updated, pres.State);
        Assert.True(pres.RunningVersion.SameAs(V(1, 1, 0)));
        // and no progress report after it: the presence says all there is (issue #15: one message less per device)
        d.Agent.Tick();
        Assert.Empty(d.Out(MessageType.ProgressReport));

        // still the source of this image for its group: a duplicate original is forwarded from the active slot
        Assert.Equal(img.ChunkCount, d.Agent.HeldCount);
        d.Members(1, 1, 2);
        d.Original(img, 4);
        d.PumpAll();
        var copy = Assert.Single(d.Peer.Sends);
        Assert.Equal(Chunk(img, 4), Parsed.Payload(copy.Bytes));
        Assert.Single(d.Notices());
        Assert.Equal(0, d.Restarts.Count);

        // the retained manifest of the running image is ignored
        d.Manifest(img);
        Assert.Equal(DeviceState.Updated, d.Agent.State);
        Assert.Equal(0, d.Counters.ManifestsRefused);

        // and a reboot after the confirmation keeps the new image
        d.Reboot();
        Assert.True(d.Agent.RunningVersion.SameAs(V(1, 1, 0)));
        Assert.Equal(DeviceState.Updated, d.Agent.State);
    }

    [Fact]
    public void A_presence_that_did_not_go_out_after_the_restart_is_sent_again_on_the_next_tick()
    {
        using var d = new DeviceHarness(nodeId: 1);
        InstalledAndRestarted(d);
        d.Mqtt.FailPublishes = 1; // its acknowledgement timed out
        d.Agent.OnConnected();
        Assert.Empty(d.Mqtt.Published);
        d.Agent.Tick();
        var pres = Parsed.Presence(Assert.Single(d.Mqtt.Published, p => p.Topic == d.StatusTopic).Bytes);
        Assert.Equal(DeviceState.Updated, pres.State);
        Assert.True(pres.RunningVersion.SameAs(V(1, 1, 0)));
        d.Agent.Tick(); // sent: not again
        Assert.Single(d.Mqtt.Published, p => p.Topic == d.StatusTopic);
    }

    [Fact]
    public void Image_whose_whole_hash_does_not_match_fails_without_touching_the_boot_record()
    {
        using var d = new DeviceHarness();
        var img = Create(V(1, 1, 0));
        var m = Manifest.Decode(img.ManifestBytes, 0, img.ManifestBytes.Length);
        m.ImageHash[0] ^= 0xFF; // chunk hashes stay right, the whole-image hash is wrong; signed anyway
        byte[] forged = Sign(m, TestKeys.Trusted);
        d.Manifest(forged);
        Assert.Equal(DeviceState.Receiving, d.Agent.State);
        byte[] bootBefore = new byte[2 * 4096];
        d.Flash.BootData.Read(0, bootBefore, 0, bootBefore.Length);

        ReceiveAll(d, img);
        d.PumpAll();

        Assert.Equal(DeviceState.Failed, d.Agent.State);
        Assert.Equal(1, d.Counters.ImageVerifyFailures);
        Assert.Equal(0, d.Counters.Installs);
        Assert.Equal(0, d.Restarts.Count);
        byte[] bootAfter = new byte[bootBefore.Length];
        d.Flash.BootData.Read(0, bootAfter, 0, bootAfter.Length);
        Assert.Equal(bootBefore, bootAfter);
        Assert.Equal(0, d.LoadBootRecord().ActiveSlot);
    }

    [Fact]
    public void Stopped_mid_download_resumes_with_what_it_held_and_finishes_with_the_rest()
    {
        using var d = new DeviceHarness();
        var img = Create(V(1, 1, 0), chunks: 12);
        d.Manifest(img);
        var first = new[] { 0, 2, 3, 7, 11 };
        ReceiveAll(d, img, first);
        d.PumpAll();
        d.Reboot();

        Assert.Equal(DeviceState.Receiving, d.Agent.State);
        Assert.Equal(img.ImageId, d.Agent.CurrentImageId);
        Assert.Equal(first.Length, d.Agent.HeldCount);
        // a core that restarted mid-download tells the gateway what it holds once it is connected
        d.Agent.OnConnected();
        d.Agent.Tick();
        var report = new ProgressReport();
        byte[] rb = Assert.Single(d.Out(MessageType.ProgressReport));
        report.Parse(rb, 0, rb.Length);
        Assert.Equal((DeviceState.Receiving, img.ImageId, first.Length), (report.State, report.ImageId, report.HeldCount));

        d.Manifest(img); // the retained manifest again: ignored, nothing erased
        Assert.Equal(first.Length, d.Agent.HeldCount);

        ReceiveAll(d, img, Enumerable.Range(0, img.ChunkCount).Except(first));
        d.PumpAll();
        Assert.Equal(img.ChunkCount - first.Length, d.Counters.PacketsWritten);
        Assert.Equal(1, d.Restarts.Count);
        Assert.Equal(img.Bytes, d.ReadSlot(1, 0, img.Bytes.Length));
        Assert.Equal(BootState.Pending, d.LoadBootRecord().State);
    }

    [Fact]
    public void Stopped_with_every_packet_held_installs_on_the_next_start()
    {
        using var d = new DeviceHarness();
        var img = Create(V(1, 1, 0));
        d.Manifest(img);
        ReceiveAll(d, img);
        d.Reboot(); // before the pump could install
        d.PumpAll();
        Assert.Equal(1, d.Restarts.Count);
        Assert.Equal(1, d.LoadBootRecord().ActiveSlot);
    }

    [Fact]
    public void Trial_image_not_confirmed_before_the_next_restart_is_rolled_back()
    {
        using var d = new DeviceHarness();
        var img = Create(V(1, 1, 0));
        d.Manifest(img);
        ReceiveAll(d, img);
        d.PumpAll();
        d.Reboot(); // boots the new image on trial
        Assert.Equal(DeviceState.PendingConfirm, d.Agent.State);

        d.Reboot(); // never confirmed (no OnConnected)

        Assert.Equal(DeviceState.RolledBack, d.Agent.State);
        Assert.True(d.Agent.RunningVersion.SameAs(V(1, 0, 0)));
        Assert.Equal(0, d.Agent.ActiveSlot);
        var r = d.LoadBootRecord();
        Assert.Equal(BootState.Confirmed, r.State);
        Assert.Equal(0, r.ActiveSlot);

        // the rolled-back image must not be installed again by itself
        d.PumpAll();
        d.Agent.Tick();
        Assert.Equal(0, d.Restarts.Count);
        Assert.Equal(0, d.Agent.ActiveSlot);
        Assert.Equal(DeviceState.RolledBack, d.Agent.State);
        Assert.Equal(0u, d.Agent.CurrentImageId);

        // nor after one more restart
        d.Reboot();
        d.PumpAll();
        Assert.Equal(0, d.Restarts.Count);
        Assert.Equal(0, d.Agent.ActiveSlot);
        Assert.True(d.Agent.RunningVersion.SameAs(V(1, 0, 0)));
        Assert.NotEqual(DeviceState.Receiving, d.Agent.State);
    }

    [Fact]
    public void Confirmed_trial_survives_later_restarts_and_a_second_update_goes_to_slot_A()
    {
        using var d = new DeviceHarness();
        var a = Create(V(1, 1, 0), seed: 1);
        d.Manifest(a);
        ReceiveAll(d, a);
        d.PumpAll();
        d.Reboot();
        d.Agent.OnConnected();

        var b = Create(V(1, 2, 0), seed: 2);
        d.Manifest(b);
        Assert.Equal(DeviceState.Receiving, d.Agent.State);
        ReceiveAll(d, b);
        d.PumpAll();
        Assert.Equal(1, d.Restarts.Count);
        var r = d.LoadBootRecord();
        Assert.Equal(0, r.ActiveSlot);
        Assert.True(r.Version.SameAs(V(1, 2, 0)));
        Assert.True(r.PreviousVersion.SameAs(V(1, 1, 0)));
        Assert.Equal(a.ImageId, r.PreviousImageId);
        Assert.Equal(b.Bytes, d.ReadSlot(0, 0, b.Bytes.Length));
    }
}
