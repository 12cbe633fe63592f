using IotOta.Gateway.Core.Tests.Support;
using IotOta.Gateway.Fleet;
using IotOta.Gateway.Images;
using IotOta.Gateway.Rollouts;
using IotOta.Gateway.Scheduling;
using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Core.Tests.Fleet;

/// <summary>Protocol v2: the signed root is not retained, so a device that comes back during a rollout without the
/// image gets its group's root from the gateway's catch-up (one 160-B message), and only such a device.</summary>
public sealed class DeviceCatchUpRootTests
{
    private static bool IsRoot(byte[] b) => b.Length == ImageRoot.EncodedLength && b[3] == (byte)MessageType.ImageRoot;

    private static (FirmwareImage Image, ImageRootSet Root) Signed()
    {
        var bytes = new byte[8 * 1024];
        new Random(5).NextBytes(bytes);
        using var signer = ManifestSigner.Generate();
        var image = FirmwareImage.Create(bytes, NodeHarness.New, signer, 1024);
        return (image, ImageRootSet.Create(image, signer, 4)); // 8 chunks, 2 pieces: seeds are members 1 and 2
    }

    [Fact]
    public void A_kept_root_announces_its_image_and_version_and_takes_the_place_of_an_older_manifest()
    {
        var (image, root) = Signed();
        var ledger = new RetainedLedger();
        ledger.Record(Topics.GroupMembers(1), new MemberListUpdate { GroupId = 1, Epoch = 2 }.ToBytes());
        ledger.Record(Topics.GroupManifest(1), NodeHarness.Image().ManifestBytes); // an older v1 rollout's
        ledger.KeepRoot(1, root.RootBytes);
        var state = ledger.ForGroup(1);
        var (id, version) = DeviceCatchUp.Announced(state);
        Assert.Equal(image.ImageId, id);
        Assert.True(version!.SameAs(image.Version));
        Assert.Equal(new[] { Topics.GroupMembers(1), Topics.GroupRoot(1) }, state.Select(s => s.Topic));
        Assert.Equal(root.RootBytes, state[1].Payload);
        Assert.DoesNotContain(ledger.ForGroup(2), s => IsRoot(s.Payload));
        ledger.KeepRoot(1, []);
        Assert.DoesNotContain(ledger.ForGroup(1), s => IsRoot(s.Payload));
    }

    [Fact]
    public async Task A_device_that_comes_back_during_a_v2_rollout_without_the_image_gets_its_groups_root_on_its_in_topic()
    {
        await using var h = await NodeHarness.StartAsync(keepsRetained: true);
        await h.JoinAsync(3, 1);
        await h.AdvanceAsync(TimeSpan.FromSeconds(3), TimeSpan.FromMilliseconds(100)); // the joins' checks: no rollout yet
        Assert.Equal(0, h.Node.CatchUp!.Answers);
        var (image, root) = Signed();
        var run = h.Node.RunRolloutAsync(image, new RolloutOptions { Root = root, Timeout = TimeSpan.FromMinutes(1), Scheduler = new SchedulerOptions { PriorForwardRate = 1_000_000 } },
            null, CancellationToken.None);
        await h.PumpUntilAsync(() => h.Broker.To(Topics.DeviceIn(2)).Any(IsRoot));
        Assert.DoesNotContain(h.Broker.To(Topics.DeviceIn(3)), IsRoot); // not a seed

        // 3 reboots and reports no image; 2 reconnects and reports it holds the list (it has the root already).
        h.Presence(3, 1);
        h.Presence(2, 1);
        h.Progress(2, image, DeviceState.Receiving, NodeHarness.Old, []);
        await h.AdvanceAsync(TimeSpan.FromSeconds(2.5), TimeSpan.FromMilliseconds(100)); // past the grace, before StragglerAfter

        Assert.Equal(root.RootBytes, Assert.Single(h.Broker.To(Topics.DeviceIn(3)), IsRoot));
        Assert.Single(h.Broker.To(Topics.DeviceIn(2)), IsRoot); // the seed's only
        Assert.Equal(1, h.Node.CatchUp.Answers);
        Assert.False(run.IsCompleted);
    }
}
