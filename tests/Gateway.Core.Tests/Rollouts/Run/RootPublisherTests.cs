using IotOta.Gateway.Core.Tests.Support;
using IotOta.Gateway.Images;
using IotOta.Gateway.Rollouts;
using IotOta.Gateway.Rollouts.Run;
using IotOta.Gateway.Scheduling;
using IotOta.Gateway.Security;
using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Core.Tests.Rollouts.Run;

/// <summary>Issue #15, protocol v2 on the gateway: the signed root rides the swarm (to the members each piece lands on
/// first, nothing retained), the hash pieces go once for the fleet, stragglers get the root directly, data waits for the list.</summary>
public sealed class RootPublisherTests
{
    private static (FirmwareImage Image, ImageRootSet Root) Signed()
    {
        var bytes = new byte[8 * 1024];
        new Random(3).NextBytes(bytes);
        using var signer = ManifestSigner.Generate();
        var image = FirmwareImage.Create(bytes, NodeHarness.New, signer, 1024);
        return (image, ImageRootSet.Create(image, signer, 4)); // 8 chunks, 2 pieces
    }

    [Fact]
    public async Task The_root_goes_just_before_each_piece_original_to_its_receiver_only_and_nothing_is_retained_and_no_data_before_the_list_is_held()
    {
        await using var h = await NodeHarness.StartAsync();
        await h.JoinAsync(6, 2); // group 1: 1, 3, 5; group 2: 2, 4, 6
        var (image, run) = StartV2(h);
        await h.PumpUntilAsync(() => h.Broker.Published.Count(p => p.Payload.Length > 3 && p.Payload[3] == (byte)MessageType.Original) >= 2);
        var published = h.Broker.Published.ToList();
        var roots = published.Where(p => p.Payload.Length == ImageRoot.EncodedLength && p.Payload[3] == (byte)MessageType.ImageRoot).ToList();
        // Only the receivers of the piece originals (1 for piece 0, 4 for piece 1), each just before its piece on the
        // same topic: the relays (2 and 3) get the root from them, ahead of the piece, over the second network.
        Assert.Equal(new[] { 1, 4 }.Select(n => Topics.DeviceIn((uint)n)).Order(), roots.Select(r => r.Topic).Order());
        foreach (uint n in new uint[] { 1, 4 })
        {
            var toN = published.Where(p => p.Topic == Topics.DeviceIn(n)).Select(p => p.Payload[3]).ToList();
            Assert.Equal(new[] { (byte)MessageType.ImageRoot, (byte)MessageType.Original }, toN.Take(2));
        }
        Assert.All(roots, r => Assert.False(r.Retain));
        Assert.DoesNotContain(published, p => p.Topic == Topics.GroupRoot(1) || p.Topic == Topics.GroupRoot(2) || p.Topic == Topics.GroupManifest(1));
        // Two pieces: piece 0 starts in group 1 naming a relay in group 2, piece 1 the other way round, each on
        // another member of every group (member p of each: 1 and 2 for piece 0, 4 and 3 for piece 1).
        var pieces = published.Where(p => p.Payload[3] == (byte)MessageType.Original).Select(p => (p.Topic, Packet: Parsed(p.Payload))).ToList();
        Assert.All(pieces, p => Assert.True((p.Packet.Flags & DataPacket.FlagHashPiece) != 0));
        Assert.Equal(new[] { (0, Topics.DeviceIn(1)), (1, Topics.DeviceIn(4)) }, pieces.Select(p => (p.Packet.Index, p.Topic)).Order());
        Assert.Equal(new[] { 2u, 3u }, pieces.OrderBy(p => p.Packet.Index).Select(p => p.Packet.TargetNode[0]));
        // No chunk goes out before every device reported the image (it holds the verified list).
        await h.AdvanceAsync(TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(100));
        Assert.Equal(2, h.Originals().Count);
        for (uint n = 1; n <= 6; n++) h.Progress(n, image, DeviceState.Receiving, NodeHarness.Old, []);
        await h.PumpUntilAsync(() => h.Originals().Count(o => (o.Packet.Flags & DataPacket.FlagHashPiece) == 0) == image.ChunkCount);
        Assert.False(run.IsCompleted);
    }

    [Fact]
    public async Task A_device_still_without_the_list_after_the_straggler_time_gets_the_root_directly_and_one_that_holds_it_does_not()
    {
        await using var h = await NodeHarness.StartAsync();
        await h.JoinAsync(3, 1);
        var (image, run) = StartV2(h);
        await h.PumpUntilAsync(() => h.Broker.To(Topics.DeviceIn(1)).Count > 0);
        h.Progress(2, image, DeviceState.Receiving, NodeHarness.Old, []); // 2 holds the list; 3 never got the seed's copy
        await h.AdvanceAsync(RootPublisher.StragglerAfter + TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(100));
        static bool IsRoot(byte[] b) => b.Length == ImageRoot.EncodedLength && b[3] == (byte)MessageType.ImageRoot;
        Assert.Single(h.Broker.To(Topics.DeviceIn(3)).Where(IsRoot));
        Assert.Single(h.Broker.To(Topics.DeviceIn(2)).Where(IsRoot)); // a seed (piece 1), holding the list: no more
        Assert.Equal(2, h.Broker.To(Topics.DeviceIn(1)).Count(IsRoot)); // the other seed lacks the list: once more
        Assert.False(run.IsCompleted);
    }

    [Fact]
    public async Task Relay_tree_tables_go_out_with_the_list_laid_over_every_device_that_will_take_data_and_once()
    {
        // 11 groups: more than one original names, so relay trees and their tables. They go out while the list spreads
        // (published after it, at N = 1,000 in 63 groups ~180 KB of them held the first originals back by a second at
        // the broker's uplink), naming devices that do not hold the list yet: the trees are laid over the devices that
        // will take data, so when all of them hold it nothing changes and no table goes out again.
        await using var h = await NodeHarness.StartAsync();
        await h.JoinAsync(22, 11);
        var (image, run) = StartV2(h);
        // On v2 a level-1 table that names children goes to its group as a digest and whole to one member (its seed).
        var tables = () => h.Broker.Published.Where(p => p.Payload.Length > 0 && (p.Topic.EndsWith("/tree", StringComparison.Ordinal)
            || WireHeader.Peek(p.Payload, 0, p.Payload.Length) == MessageType.RelayTree)).ToList();
        await h.PumpUntilAsync(() => tables().Count > 0);
        Assert.DoesNotContain(h.Broker.Published, p => WireHeader.Peek(p.Payload, 0, p.Payload.Length) == MessageType.Original && (Parsed(p.Payload).Flags & DataPacket.FlagHashPiece) == 0); // no data yet
        var named = new HashSet<uint>();
        foreach (var (_, payload) in tables().Select(p => (p.Topic, p.Payload)).Where(p => WireHeader.Peek(p.Payload, 0, p.Payload.Length) == MessageType.RelayTree))
        {
            var t = new RelayTree();
            t.Parse(payload, 0, payload.Length);
            for (int c = 0; c < t.ChildCount; c++)
                for (int j = 0; j < t.CandidateCount[c]; j++) named.Add(t.CandidateNode[c * RelayTree.MaxCandidates + j]);
        }
        Assert.True(named.Count >= 4, $"the tables name {named.Count} devices");
        Assert.True(named.Any(n => n > 11), "no table names a device of the half that reports the list last");
        int first = tables().Count;
        for (uint n = 1; n <= 22; n++) h.Progress(n, image, DeviceState.Receiving, NodeHarness.Old, []);
        await h.PumpUntilAsync(() => h.Broker.Published.Any(p => WireHeader.Peek(p.Payload, 0, p.Payload.Length) == MessageType.Original && (Parsed(p.Payload).Flags & DataPacket.FlagHashPiece) == 0));
        await h.AdvanceAsync(TimeSpan.FromSeconds(8), TimeSpan.FromMilliseconds(100));
        Assert.Equal(first, tables().Count); // once: the fleet that took data is the one the trees were laid over
        Assert.Equal(first, tables().Select(p => p.Topic).Distinct().Count());
        Assert.False(run.IsCompleted);
    }

    [Fact]
    public async Task When_fewer_devices_than_the_tables_were_laid_over_take_data_the_new_tables_go_out_at_once()
    {
        // The settle time passes with half the fleet holding the list: the trees are laid again over those, and their
        // tables must reach the devices before data goes down them (the tables out name devices without the list),
        // not only once every device holds it or the list wait (10 s) passes.
        await using var h = await NodeHarness.StartAsync();
        await h.JoinAsync(22, 11);
        var (image, run) = StartV2(h);
        int Tables() => h.Broker.Published.Count(p => p.Topic.EndsWith("/tree", StringComparison.Ordinal) && p.Payload.Length > 0);
        await h.PumpUntilAsync(() => Tables() > 0);
        int ahead = Tables();
        for (uint n = 1; n <= 11; n++) h.Progress(n, image, DeviceState.Receiving, NodeHarness.Old, []);
        await h.AdvanceAsync(new RolloutOptions().ReconnectSettle + TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(100));
        Assert.True(new RolloutOptions().ReconnectSettle + TimeSpan.FromSeconds(1) < RelayTreePublisher.ListWait);
        Assert.True(Tables() > ahead, $"{Tables()} tables published, {ahead} of them ahead");
        Assert.False(run.IsCompleted);
    }

    /// <summary>A protocol-v2 rollout of the signed test image on the harness's fleet, a minute at most.</summary>
    [Theory]
    [InlineData(11, true, true)]   // every table a level-1 one: the pieces go down the trees, one original each
    [InlineData(30, true, false)]  // deeper groups' tables would have to go first: one original per 9 groups, as before
    [InlineData(11, false, false)] // the option off (the default): as before
    public async Task With_level_1_tables_only_the_tables_go_first_and_each_piece_goes_down_its_tree_in_one_original(int groups, bool option, bool down)
    {
        await using var h = await NodeHarness.StartAsync();
        await h.JoinAsync(2 * groups, groups); // group g: nodes g and g + groups
        var (image, run) = StartV2(h, option);
        bool IsPiece(byte[] b) => b.Length > 3 && b[3] == (byte)MessageType.Original && (Parsed(b).Flags & DataPacket.FlagHashPiece) != 0;
        int perPiece = down ? 1 : (groups + DataPacket.MaxTargets) / (1 + DataPacket.MaxTargets);
        await h.PumpUntilAsync(() => h.Broker.Published.Count(p => IsPiece(p.Payload)) >= 2 * perPiece);
        await h.AdvanceAsync(TimeSpan.FromMilliseconds(300), TimeSpan.FromMilliseconds(20));
        var published = h.Broker.Published.ToList();
        var pieces = published.Select((p, i) => (p.Topic, Packet: IsPiece(p.Payload) ? Parsed(p.Payload) : null, At: i)).Where(p => p.Packet != null).ToList();
        Assert.Equal(2 * perPiece, pieces.Count);
        int firstTable = published.FindIndex(p => p.Topic.EndsWith("/tree", StringComparison.Ordinal));
        Assert.True(firstTable >= 0);
        Assert.Equal(down, firstTable < pieces.Min(p => p.At));
        if (!down)
        {
            Assert.All(pieces, p => Assert.Equal(0, p.Packet!.Flags & DataPacket.FlagTree));
            Assert.False(run.IsCompleted);
            return;
        }
        var forest = new RelayForest(Enumerable.Range(1, groups).ToList());
        int GroupOf(uint node) => (int)((node - 1) % (uint)groups) + 1;
        foreach (var (topic, packet, _) in pieces)
        {
            int piece = packet!.Index;
            int tree = forest.TreeOf(piece);
            Assert.Equal(DataPacket.FlagHashPiece | DataPacket.FlagTree, packet.Flags);
            Assert.Equal(forest.GroupAt(tree, 0), GroupOf(Topics.NodeIdOf(topic)));
            Assert.Equal(Enumerable.Range(1, RelayForest.FanOut).Select(pos => forest.GroupAt(tree, pos)),
                Enumerable.Range(0, packet.TargetCount).Select(i => GroupOf(packet.TargetNode[i])));
        }
        Assert.Equal(new[] { 0, 1 }, pieces.Select(p => p.Packet!.Index).Order());
        Assert.False(run.IsCompleted);
    }

    private static (FirmwareImage Image, Task<RolloutResult> Run) StartV2(NodeHarness h, bool piecesDownTrees = false)
    {
        var (image, root) = Signed();
        var run = h.Node.RunRolloutAsync(image, new RolloutOptions { Root = root, Timeout = TimeSpan.FromMinutes(1), Scheduler = new SchedulerOptions { PriorForwardRate = 1_000_000 }, PiecesDownTrees = piecesDownTrees },
            null, CancellationToken.None);
        return (image, run);
    }

    private static DataPacket Parsed(byte[] b)
    {
        var p = new DataPacket();
        p.Parse(b, 0, b.Length);
        return p;
    }
}
