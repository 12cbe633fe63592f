using IotOta.Gateway.Mqtt;
using IotOta.Gateway.Fleet;
using IotOta.Shared.Protocol;

namespace IotOta.ScaleOut.Tests.Gateway;

/// <summary>The gateway answers a device that connected without its group's retained state, and only such a device.</summary>
public sealed class DeviceCatchUpTests
{
    private static byte[] Members() => new MemberListUpdate { GroupId = 1, Epoch = 3 }.ToBytes();

    private sealed class Sent
    {
        public readonly List<(string Topic, byte[] Payload)> Items = new();
        public Task Send(string t, byte[] p)
        {
            lock (Items) Items.Add((t, p));
            return Task.CompletedTask;
        }
    }

    [Fact]
    public async Task Without_a_rollout_for_the_group_nothing_is_sent()
    {
        var ledger = new RetainedLedger();
        ledger.Record(Topics.GroupMembers(1), Members());
        var sent = new Sent();
        var c = new DeviceCatchUp(ledger, sent.Send, _ => null, TimeProvider.System);
        Assert.False(await c.AnswerIfNeededAsync(5, 1));
        Assert.Empty(sent.Items);
    }

    [Fact]
    public async Task A_device_that_did_not_report_the_rollout_gets_its_groups_state_on_its_in_topic_member_list_first()
    {
        var ledger = new RetainedLedger();
        byte[] tree = [1, 2, 3];
        byte[] manifest = [9, 9];
        ledger.Record(Topics.GroupTree(1), tree);
        ledger.Record(Topics.GroupManifest(1), manifest);
        ledger.Record(Topics.GroupMembers(1), Members());
        ledger.Record(Topics.GroupManifest(2), [7]); // another group's: not sent
        var sent = new Sent();
        var c = new DeviceCatchUp(ledger, sent.Send, _ => null, TimeProvider.System);
        c.OnReport(5, 0); // connected, holds no manifest
        Assert.True(await c.AnswerIfNeededAsync(5, 1));
        Assert.All(sent.Items, s => Assert.Equal(Topics.DeviceIn(5), s.Topic));
        Assert.Equal(3, sent.Items.Count);
        Assert.Equal(Members(), sent.Items[0].Payload);
        Assert.Equal(manifest, sent.Items[1].Payload);
        Assert.Equal(tree, sent.Items[2].Payload);
        Assert.Equal(1, c.Answers);
        Assert.Equal(Members().Length + 5, c.AnswerBytes);

        // A cleared retained message (empty payload) is no longer part of the answer.
        ledger.Record(Topics.GroupTree(1), []);
        Assert.Equal(2, ledger.ForGroup(1).Count);
    }

    [Fact]
    public async Task A_device_that_reported_the_image_after_connecting_or_runs_its_version_gets_nothing()
    {
        using var signer = IotOta.Gateway.Images.ManifestSigner.Generate();
        var image = IotOta.Gateway.Images.FirmwareImage.Create(new byte[10_000], new FirmwareVersion(2, 0, 0), signer, 1024);
        var ledger = new RetainedLedger();
        ledger.Record(Topics.GroupManifest(1), image.ManifestBytes);
        Assert.Equal((image.ImageId, image.Version.ToString()), (DeviceCatchUp.Announced(ledger.ForGroup(1)).ImageId, DeviceCatchUp.Announced(ledger.ForGroup(1)).Version?.ToString()));
        var sent = new Sent();
        var running = new Dictionary<uint, FirmwareVersion> { [6] = new FirmwareVersion(2, 0, 0) };
        var c = new DeviceCatchUp(ledger, sent.Send, n => running.GetValueOrDefault(n), TimeProvider.System) { Grace = TimeSpan.FromMilliseconds(50) };

        c.OnPresence(5, 1);
        c.OnReport(5, image.ImageId); // the retained manifest reached it
        c.OnPresence(6, 1); // already runs 2.0.0
        c.OnPresence(7, 1);
        c.OnReport(7, 0); // reported, but without the manifest
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (c.Answers < 1 && DateTime.UtcNow < deadline) await Task.Delay(20);
        await Task.Delay(200);
        Assert.Equal(1, c.Answers);
        var only = Assert.Single(sent.Items);
        Assert.Equal(Topics.DeviceIn(7), only.Topic);
        Assert.Equal(image.ManifestBytes, only.Payload);
    }

    [Fact]
    public async Task A_device_online_before_its_groups_rollout_began_is_not_answered_one_that_came_after_is()
    {
        using var signer = IotOta.Gateway.Images.ManifestSigner.Generate();
        var image = IotOta.Gateway.Images.FirmwareImage.Create(new byte[10_000], new FirmwareVersion(2, 0, 0), signer, 1024);
        var ledger = new RetainedLedger();
        ledger.Record(Topics.GroupMembers(1), Members());
        var sent = new Sent();
        var c = new DeviceCatchUp(ledger, sent.Send, _ => null, TimeProvider.System) { Grace = TimeSpan.FromMilliseconds(300) };

        c.OnPresence(5, 1); // online with no rollout for its group
        ledger.Record(Topics.GroupManifest(1), image.ManifestBytes); // the rollout begins within the grace
        c.OnPresence(6, 1); // comes online while it runs, and reports nothing
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (c.Answers < 1 && DateTime.UtcNow < deadline) await Task.Delay(20);
        await Task.Delay(500);
        Assert.Equal(1, c.Answers);
        Assert.All(sent.Items, m => Assert.Equal(Topics.DeviceIn(6), m.Topic));
        Assert.Contains(sent.Items, m => m.Payload.SequenceEqual(image.ManifestBytes));
    }
}
