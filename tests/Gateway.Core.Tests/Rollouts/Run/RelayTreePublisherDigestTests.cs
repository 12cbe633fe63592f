using System.Security.Cryptography;
using IotOta.Gateway.Core.Tests.Support;
using IotOta.Gateway.Fleet;
using IotOta.Gateway.Images;
using IotOta.Gateway.Node;
using IotOta.Gateway.Rollouts;
using IotOta.Gateway.Rollouts.Run;
using IotOta.Gateway.Scheduling;
using IotOta.Gateway.Security;
using IotOta.Shared.Protocol;
using IotOta.TestSupport.Gateway;
using Microsoft.Extensions.Time.Testing;

namespace IotOta.Gateway.Core.Tests.Rollouts.Run;

/// <summary>Issue #15, protocol v2: a level-1 table that names children goes to its group as a retained 32-byte
/// RelayTreeDigest, and whole to one member (the seed) on its in-topic; a device holding the digest but not the table
/// asks the gateway (PieceRequest WhatRelayTable). Empty tables, deeper groups' tables and v1 rollouts go as before.</summary>
public sealed class RelayTreePublisherDigestTests
{
    private const uint ImageId = 77;

    /// <summary>A publisher over a scheduler whose fleet is <paramref name="groups"/> groups of
    /// <paramref name="perGroup"/> (node 1000·g + i in group g), each device known to the registry.</summary>
    private sealed class Rig
    {
        public readonly FakeTimeProvider Clock = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        public readonly FakeBrokerPort Broker = new();
        public readonly RolloutScheduler Scheduler;
        public readonly List<FleetMember> Members;
        public readonly RelayTreePublisher Publisher;

        public Rig(bool v2, int groups, int perGroup = 3)
        {
            Scheduler = new RolloutScheduler(16, _ => 1024, new SchedulerOptions(), new OverheadTable(Clock), Clock);
            Members = Enumerable.Range(1, groups).SelectMany(g => Enumerable.Range(0, perGroup)
                .Select(i => new FleetMember((uint)(1000 * g + i), g, 0x0A000001, 5000 + i))).ToList();
            Scheduler.UpdateFleet(Members);
            var registry = new DeviceRegistry(Clock);
            foreach (var m in Members)
                registry.OnPresence(new Presence { NodeId = m.NodeId, GroupId = m.GroupId, Online = true, Ip = m.Ip, Port = m.Port, RunningVersion = NodeHarness.Old });
            Broker.ConnectAsync((_, _) => { }, CancellationToken.None).Wait();
            Publisher = new RelayTreePublisher(Broker, Scheduler, ImageId, Clock, null, v2 ? registry : null);
        }

        public List<(string Topic, byte[] Payload, bool Retain, BrokerQos Qos)> Published => Broker.Published.ToList();

        /// <summary>The tables as the scheduler has them now: per group, its table's bytes and whether it names children.</summary>
        public Dictionary<int, (byte[] Bytes, bool Children)> GroupTables() =>
            Scheduler.PublishedRelayTables(ImageId).Groups.ToDictionary(t => t.GroupId, t => (t.ToBytes(), t.ChildCount > 0));

        public Task AnswerRequestAsync(uint node, uint image = ImageId, byte what = PieceRequest.WhatRelayTable)
        {
            Publisher.OnRequest(new PieceRequest { NodeId = node, ImageId = image, What = what, Count = what == PieceRequest.WhatHashPieces ? 1 : 0 });
            return Publisher.AnswerAsync(CancellationToken.None);
        }
    }

    private static RelayTreeDigest ParseDigest(byte[] b)
    {
        var d = new RelayTreeDigest();
        d.Parse(b, 0, b.Length);
        return d;
    }

    private static bool Is(byte[] b, MessageType type) => b.Length > 0 && WireHeader.Peek(b, 0, b.Length) == type;

    [Fact]
    public async Task A_level_1_table_with_children_goes_as_a_retained_digest_then_whole_to_one_member_and_an_empty_table_whole()
    {
        var rig = new Rig(v2: true, groups: 11); // 11 groups: every table that names children is at level 1
        await rig.Publisher.PublishAsync(CancellationToken.None);
        var published = rig.Published;
        var tables = rig.GroupTables();
        Assert.Contains(tables.Values, t => t.Children);
        Assert.Contains(tables.Values, t => !t.Children);
        foreach (var (g, (bytes, children)) in tables)
        {
            var onTopic = published.Select((p, i) => (p, i)).Where(x => x.p.Topic == Topics.GroupTree(g)).ToList();
            var (group, at) = Assert.Single(onTopic);
            Assert.True(group.Retain);
            if (!children)
            {
                Assert.Equal(bytes, group.Payload); // an empty table: whole, as on v1 (17 bytes, smaller than a digest)
                Assert.Equal(RelayTree.FixedLength, group.Payload.Length);
                continue;
            }
            Assert.Equal(RelayTreeDigest.EncodedLength, group.Payload.Length);
            var d = ParseDigest(group.Payload);
            var table = new RelayTree();
            table.Parse(bytes, 0, bytes.Length);
            Assert.Equal((ImageId, g, table.Epoch, bytes.Length), (d.ImageId, d.GroupId, d.Epoch, d.TableLength));
            Assert.Equal(SHA256.HashData(bytes).AsSpan(0, RelayTreeDigest.DigestLength).ToArray(), d.Digest);
            // The whole table once, not retained, at least once, after the digest, to one member of the group: the
            // first in node order.
            var whole = published.Select((p, i) => (p, i)).Where(x => x.p.Payload.AsSpan().SequenceEqual(bytes)).ToList();
            var (seedTable, seedAt) = Assert.Single(whole);
            Assert.False(seedTable.Retain);
            Assert.Equal(BrokerQos.AtLeastOnce, seedTable.Qos);
            Assert.True(seedAt > at, "the table went before its digest");
            uint seed = Topics.NodeIdOf(seedTable.Topic);
            Assert.Equal(Topics.DeviceIn(seed), seedTable.Topic);
            Assert.Equal(1000u * (uint)g, seed);
            Assert.Equal(seed, rig.Scheduler.TableSeed(g));
        }
        // Nothing else: one message per group topic and one table per seed.
        Assert.Equal(tables.Count + tables.Values.Count(t => t.Children), published.Count);
    }

    [Fact]
    public async Task Deeper_groups_get_their_device_tables_as_before_and_a_v1_publisher_sends_every_group_table_whole()
    {
        var v1 = new Rig(v2: false, groups: 30);
        var v2 = new Rig(v2: true, groups: 30);
        await v1.Publisher.PublishAsync(CancellationToken.None);
        await v2.Publisher.PublishAsync(CancellationToken.None);
        var (groups, devices) = v1.Scheduler.PublishedRelayTables(ImageId);
        Assert.NotEmpty(devices);
        // v1: exactly the tables, whole: the group tables retained on their topics, the device tables on in-topics.
        var expected = groups.Select(t => (Topics.GroupTree(t.GroupId), Convert.ToHexString(t.ToBytes()), true))
            .Concat(devices.Select(d => (Topics.DeviceIn(d.Node), Convert.ToHexString(d.Table.ToBytes()), false))).Order().ToList();
        Assert.Equal(expected, v1.Published.Select(p => (p.Topic, Convert.ToHexString(p.Payload), p.Retain)).Order().ToList());
        Assert.DoesNotContain(v1.Published, p => Is(p.Payload, MessageType.RelayTreeDigest));
        // v2: the device tables and the empty tables are the same messages; only the level-1 tables with children differ.
        var v2Set = v2.Published.Select(p => (p.Topic, Convert.ToHexString(p.Payload), p.Retain)).ToHashSet();
        Assert.All(expected.Where(e => !e.Item3), e => Assert.Contains(e, v2Set));
        foreach (var t in groups)
        {
            var onTopic = Assert.Single(v2.Broker.To(Topics.GroupTree(t.GroupId)));
            Assert.Equal(t.ChildCount > 0 ? MessageType.RelayTreeDigest : MessageType.RelayTree, WireHeader.Peek(onTopic, 0, onTopic.Length));
        }
        int withChildren = groups.Count(t => t.ChildCount > 0);
        Assert.True(withChildren > 0);
        Assert.Equal(expected.Count + withChildren, v2.Published.Count); // plus one whole table per seed
    }

    [Fact]
    public async Task Unchanged_tables_are_not_sent_again_and_when_a_seed_leaves_its_group_s_new_table_goes_to_the_next_member()
    {
        var rig = new Rig(v2: true, groups: 11);
        await rig.Publisher.PublishAsync(CancellationToken.None);
        int first = rig.Published.Count;
        rig.Clock.Advance(TimeSpan.FromSeconds(6));
        await rig.Publisher.PublishAsync(CancellationToken.None);
        Assert.Equal(first, rig.Published.Count);

        int g = rig.GroupTables().First(kv => kv.Value.Children).Key;
        uint oldSeed = rig.Scheduler.TableSeed(g)!.Value;
        uint epoch = rig.Scheduler.TreeEpoch;
        rig.Scheduler.UpdateFleet(rig.Members.Where(m => m.NodeId != oldSeed));
        Assert.NotEqual(epoch, rig.Scheduler.TreeEpoch);
        rig.Clock.Advance(TimeSpan.FromSeconds(6));
        await rig.Publisher.PublishAsync(CancellationToken.None);
        var after = rig.Published.Skip(first).ToList();
        uint newSeed = oldSeed + 1;
        Assert.Equal(newSeed, rig.Scheduler.TableSeed(g));
        var (bytes, _) = rig.GroupTables()[g];
        var digest = ParseDigest(Assert.Single(after, p => p.Topic == Topics.GroupTree(g)).Payload);
        Assert.Equal(bytes.Length, digest.TableLength);
        Assert.Equal(SHA256.HashData(bytes).AsSpan(0, RelayTreeDigest.DigestLength).ToArray(), digest.Digest);
        Assert.Equal(bytes, Assert.Single(after, p => p.Topic == Topics.DeviceIn(newSeed)).Payload);
        Assert.DoesNotContain(after, p => p.Topic == Topics.DeviceIn(oldSeed));
        // Every other group with children: its new table (a new epoch) to the same seed as before.
        foreach (var (other, t) in rig.GroupTables().Where(kv => kv.Value.Children && kv.Key != g))
            Assert.Equal(t.Bytes, Assert.Single(after, p => p.Topic == Topics.DeviceIn(1000u * (uint)other)).Payload);
    }

    [Fact]
    public async Task A_table_request_is_answered_on_the_requester_s_in_topic_once_a_second_and_only_for_a_digest_group_and_this_image()
    {
        var rig = new Rig(v2: true, groups: 11);
        await rig.Publisher.PublishAsync(CancellationToken.None);
        var tables = rig.GroupTables();
        int g = tables.First(kv => kv.Value.Children).Key;
        int leaf = tables.First(kv => !kv.Value.Children).Key;
        uint asker = 1000u * (uint)g + 2; // not the seed
        int before = rig.Published.Count;
        List<(string Topic, byte[] Payload, bool Retain, BrokerQos Qos)> Since() => rig.Published.Skip(before).ToList();

        await rig.AnswerRequestAsync(asker);
        var answer = Assert.Single(Since());
        Assert.Equal(Topics.DeviceIn(asker), answer.Topic);
        // a copy flagged FlagTable | FlagRepair (the device keeps it to itself), the table its payload
        Assert.Equal(tables[g].Bytes, AnsweredTable(answer.Payload));
        Assert.False(answer.Retain);

        await rig.AnswerRequestAsync(asker); // again at once: not answered
        Assert.Single(Since());
        await rig.AnswerRequestAsync(asker, image: ImageId + 1);
        await rig.AnswerRequestAsync(1000u * (uint)leaf + 1); // its group's table went whole (empty)
        await rig.AnswerRequestAsync(999_999); // unknown
        await rig.AnswerRequestAsync(1000u * (uint)g + 1, what: PieceRequest.WhatHashPieces);
        Assert.Single(Since());

        rig.Clock.Advance(RelayTreePublisher.AnswerInterval);
        await rig.AnswerRequestAsync(asker);
        Assert.Equal(2, Since().Count(p => p.Topic == Topics.DeviceIn(asker) && AnsweredTable(p.Payload) is { } t && t.AsSpan().SequenceEqual(tables[g].Bytes)));

        var v1 = new Rig(v2: false, groups: 11);
        await v1.Publisher.PublishAsync(CancellationToken.None);
        int v1Count = v1.Published.Count;
        await v1.AnswerRequestAsync(1000u * (uint)g + 2);
        Assert.Equal(v1Count, v1.Published.Count);
    }

    [Fact]
    public async Task A_v2_rollout_publishes_digests_and_the_engine_answers_a_table_request()
    {
        await using var h = await NodeHarness.StartAsync();
        await h.JoinAsync(22, 11); // group g: nodes g and g + 11
        var bytes = new byte[8 * 1024];
        new Random(3).NextBytes(bytes);
        using var signer = ManifestSigner.Generate();
        var image = FirmwareImage.Create(bytes, NodeHarness.New, signer, 1024);
        var run = h.Node.RunRolloutAsync(image, new RolloutOptions { Root = ImageRootSet.Create(image, signer, 4), Timeout = TimeSpan.FromMinutes(1) },
            null, CancellationToken.None);
        var digests = () => h.Broker.Published.Where(p => p.Topic.EndsWith("/tree", StringComparison.Ordinal) && Is(p.Payload, MessageType.RelayTreeDigest)).ToList();
        await h.PumpUntilAsync(() => digests().Count > 0);
        var (topic, payload, retain, _) = digests()[0];
        Assert.True(retain);
        var d = ParseDigest(payload);
        Assert.Equal(image.ImageId, d.ImageId);
        Assert.Equal(Topics.GroupTree(d.GroupId), topic);
        bool Matches(byte[] b) => Is(b, MessageType.RelayTree) && b.Length == d.TableLength && d.Matches(SHA256.HashData(b), 0);
        var seeded = Assert.Single(h.Broker.Published, p => Matches(p.Payload));
        uint seed = Topics.NodeIdOf(seeded.Topic);
        Assert.Equal(d.GroupId, (int)((seed - 1) % 11) + 1);
        Assert.DoesNotContain(h.Broker.Published, p => p.Topic.EndsWith("/tree", StringComparison.Ordinal) && Matches(p.Payload));

        uint asker = seed <= 11 ? seed + 11 : seed - 11; // the other member of the group
        void Ask(uint image)
        {
            var buf = new byte[PieceRequest.EncodedLength];
            new PieceRequest { NodeId = asker, ImageId = image, What = PieceRequest.WhatRelayTable }.Encode(buf, 0);
            h.Broker.Deliver(Topics.DeviceOut(asker), buf);
        }
        int Answers() => h.Broker.To(Topics.DeviceIn(asker)).Count(b => AnsweredTable(b) is { } t && Matches(t));
        Ask(image.ImageId + 1);
        await h.AdvanceAsync(TimeSpan.FromMilliseconds(300), TimeSpan.FromMilliseconds(20));
        Assert.Equal(0, Answers());
        Ask(image.ImageId);
        await h.PumpUntilAsync(() => Answers() == 1);
        Assert.False(run.IsCompleted);
    }

    /// <summary>The table in the gateway's answer to a table request (a copy flagged FlagTable | FlagRepair), or null.</summary>
    private static byte[]? AnsweredTable(byte[] b)
    {
        if (!Is(b, MessageType.Copy)) return null;
        var p = new DataPacket();
        p.Parse(b, 0, b.Length);
        if (p.Flags != (DataPacket.FlagTable | DataPacket.FlagRepair) || p.SenderNode != 0) return null;
        return p.PayloadBuffer.AsSpan(p.PayloadOffset, p.PayloadLength).ToArray();
    }
}
