using IotOta.DeviceFirmware.Tests.Support;
using IotOta.Gateway.Fleet;
using IotOta.Gateway.Images;
using IotOta.Shared.Protocol;
using static IotOta.DeviceFirmware.Tests.Support.Images;

namespace IotOta.DeviceFirmware.Tests.Agent;

/// <summary>Protocol v2 (issue #15) on the device: signed root from the group topic, hash-list pieces that come like
/// data (checked against the root, passed on), missing pieces asked of a peer then of the gateway, a restart that
/// checks root and list again.</summary>
public class DeviceAgentRootTests
{

    private static (DeviceHarness d, FirmwareImage img, ImageRootSet set) WithRoot(int chunks = 10, int perPiece = 4)
    {
        var d = new DeviceHarness(nodeId: 1, groupId: 1);
        d.Members(1, 1, 2, 3);
        var img = Create(V(1, 1, 0), chunks: chunks);
        var set = ImageRootSet.Create(img, TestKeys.Trusted, perPiece);
        d.Agent.OnMqttMessage(Topics.GroupRoot(1), set.RootBytes, 0, set.RootBytes.Length);
        return (d, img, set);
    }

    [Fact]
    public void Pieces_from_an_original_are_kept_in_flash_passed_on_and_complete_the_image()
    {
        var (d, img, set) = WithRoot();
        using var _ = d;
        Assert.Equal(3, set.PieceCount);
        // The root admits the image at once (its stored form goes to flash); a chunk whose piece has not come is
        // dropped before it touches flash, without blaming the sender, and nothing is reported yet.
        Assert.Equal(img.ImageId, d.Agent.CurrentImageId);
        d.Original(img, 2);
        Assert.Equal(0, d.Agent.HeldCount);
        Assert.Equal((1, 0), (d.Counters.NoHashYetDrops, d.Counters.BadChunkHashes));
        d.Agent.Tick();
        Assert.Empty(d.Out(MessageType.ProgressReport));
        for (int p = 0; p < set.PieceCount; p++) d.Mqtt_(PiecePacket(set, p, MessageType.Original, 0, 0, DeviceHarness.Member(50)));
        Assert.Equal(Shared.Protocol.DeviceState.Receiving, d.Agent.State);
        Assert.Equal(3, d.Counters.HashPiecesTaken);
        // The list is in the update-state partition behind the root and the proof slots, never in RAM.
        var store = new IotOta.DeviceFirmware.Flash.UpdateStateStore(d.Flash.UpdateState);
        var inFlash = new byte[img.Manifest.ChunkCount * Manifest.HashLength];
        store.ReadManifestPart(IotOta.DeviceFirmware.Flash.RootForm.HashesOffset(set.PieceCount), inFlash, 0, inFlash.Length);
        Assert.Equal(img.Manifest.ChunkHashes, inFlash);
        // Each piece goes (read back from flash) to the named relay (relay flag) and to both other members, this
        // device as sender, and each copy verifies at its receiver. The relay gets the signed root ahead of each
        // piece on the same connection: it is a seed that gets the root over MQTT too, but a piece that overtook
        // that root could not be checked and was dropped.
        d.PumpAll();
        var all = d.Peer.Sends;
        var toRelay = all.Where(s => s.Port == DeviceHarness.PortOf(50)).Select(s => WireHeader.Peek(s.Bytes, 0, s.Bytes.Length)).ToList();
        Assert.Equal(Enumerable.Repeat(new[] { MessageType.ImageRoot, MessageType.Copy }, 3).SelectMany(x => x), toRelay);
        Assert.All(all.Where(s => WireHeader.Peek(s.Bytes, 0, s.Bytes.Length) == MessageType.ImageRoot), s => Assert.Equal(set.RootBytes, s.Bytes));
        var sends = all.Where(s => WireHeader.Peek(s.Bytes, 0, s.Bytes.Length) != MessageType.ImageRoot).ToList();
        Assert.Equal(3 * 3, sends.Count);
        Assert.All(sends, s => Assert.Equal(1u, Parsed.Data(s.Bytes).SenderNode));
        Assert.Equal(3, sends.Count(s => s.Port == DeviceHarness.PortOf(50) && (Parsed.Data(s.Bytes).Flags & DataPacket.FlagRelay) != 0));
        Assert.Equal(3, d.Counters.HashPiecesTaken);
        // At the relay, a piece that comes before any root is dropped (it cannot be checked); root first, it is taken.
        var relay = new DeviceHarness(nodeId: 50, groupId: 2);
        using var ___ = relay;
        var relayPiece = all.First(s => s.Port == DeviceHarness.PortOf(50) && WireHeader.Peek(s.Bytes, 0, s.Bytes.Length) == MessageType.Copy);
        relay.FromPeer(relayPiece.Bytes);
        Assert.Equal(0, relay.Counters.HashPiecesTaken);
        foreach (var s2 in all.Where(s => s.Port == DeviceHarness.PortOf(50)).Take(2)) relay.FromPeer(s2.Bytes);
        Assert.Equal(1, relay.Counters.HashPiecesTaken);
        // In a full mesh each member gets the root ahead of each piece too (the gateway sends the root to the piece
        // original's receiver only), and takes every piece with nothing else from the gateway.
        foreach (uint m in new uint[] { 2, 3 })
            Assert.Equal(Enumerable.Repeat(new[] { MessageType.ImageRoot, MessageType.Copy }, 3).SelectMany(x => x),
                all.Where(s => s.Port == DeviceHarness.PortOf(m)).Select(s => WireHeader.Peek(s.Bytes, 0, s.Bytes.Length)));
        var member = new DeviceHarness(nodeId: 2, groupId: 1);
        using var __ = member;
        foreach (var s2 in all.Where(s => s.Port == DeviceHarness.PortOf(2))) member.FromPeer(s2.Bytes);
        Assert.Equal(img.ImageId, member.Agent.CurrentImageId);
        Assert.Equal(3, member.Counters.HashPiecesTaken);
        // The complete list is reported, and a chunk now verifies against it and is written.
        d.Agent.Tick();
        Assert.Single(d.Out(MessageType.ProgressReport));
        d.Original(img, 2);
        Assert.Equal(1, d.Agent.HeldCount);
        Assert.Equal(Chunk(img, 2), d.ReadSlot(1, img.Manifest.ChunkOffset(2), img.ChunkSize));
    }

    [Fact]
    public void The_report_that_the_whole_list_is_held_goes_from_the_pump_without_waiting_for_a_tick()
    {
        // The gateway plans no data before every device reported the list. Devices may share tick threads (the virtual
        // fleet's 1,000 tick on 8, each tick waiting for its publishes' acks): reported from the tick only, the reports
        // reached the gateway ~1 s after the devices held the list, and data began that much later.
        var (d, img, set) = WithRoot();
        using var _ = d;
        for (int p = 0; p < set.PieceCount; p++) d.Mqtt_(PiecePacket(set, p, MessageType.Original, 0, 0));
        Assert.Equal(set.PieceCount, d.Counters.HashPiecesTaken);
        Assert.Empty(d.Out(MessageType.ProgressReport));
        d.Agent.PumpOnce();
        var sent = Assert.Single(d.Out(MessageType.ProgressReport));
        var report = new ProgressReport();
        report.Parse(sent, 0, sent.Length);
        Assert.Equal((img.ImageId, DeviceState.Receiving, 0), (report.ImageId, report.State, report.HeldCount));
        d.Agent.Tick();
        d.PumpAll();
        Assert.Single(d.Out(MessageType.ProgressReport)); // once
        // A core that stopped (over its heap budget, powered off) reports nothing from its pump, even when a reconnect
        // asks for a report.
        var (e, _, set2) = WithRoot();
        using var __ = e;
        for (int p = 0; p < set2.PieceCount; p++) e.Mqtt_(PiecePacket(set2, p, MessageType.Original, 0, 0));
        e.Agent.Stop();
        e.Agent.OnConnected();
        e.Agent.PumpOnce();
        Assert.Empty(e.Out(MessageType.ProgressReport));
    }

    [Fact]
    public void Each_relay_of_a_piece_gets_the_root_just_before_the_piece_back_to_back()
    {
        var (d, img, set) = WithRoot();
        using var _ = d;
        d.Mqtt_(PiecePacket(set, 0, MessageType.Original, 0, 0, DeviceHarness.Member(50), DeviceHarness.Member(51), DeviceHarness.Member(52)));
        d.PumpAll();
        // In send order: root then piece to one relay, then the next. With the root to every relay first, the root to
        // the first relay went on a connection the socket budget then closed, the piece on a new one, and the relay
        // read the piece first and dropped it (its whole group lacked the list ~6 s).
        var relays = new[] { 50u, 51u, 52u }.Select(DeviceHarness.PortOf).ToHashSet();
        var toRelays = d.Peer.Sends.Where(s => relays.Contains(s.Port)).Select(s => (s.Port, WireHeader.Peek(s.Bytes, 0, s.Bytes.Length))).ToList();
        Assert.Equal(new uint[] { 50, 51, 52 }.SelectMany(n => new[] { (DeviceHarness.PortOf(n), MessageType.ImageRoot), (DeviceHarness.PortOf(n), MessageType.Copy) }), toRelays);
        Assert.All(d.Peer.Sends.Where(s => WireHeader.Peek(s.Bytes, 0, s.Bytes.Length) == MessageType.ImageRoot), s => Assert.Equal(set.RootBytes, s.Bytes));
        Assert.Equal(3, d.Peer.Sends.Count(s => relays.Contains(s.Port) && WireHeader.Peek(s.Bytes, 0, s.Bytes.Length) == MessageType.Copy
            && (Parsed.Data(s.Bytes).Flags & (DataPacket.FlagRelay | DataPacket.FlagHashPiece)) == (DataPacket.FlagRelay | DataPacket.FlagHashPiece)));
    }

    [Fact]
    public void A_root_from_the_gateway_on_the_in_topic_is_passed_on_to_every_member_and_one_from_a_peer_is_not()
    {
        var d = new DeviceHarness(nodeId: 1, groupId: 1);
        using var _ = d;
        d.Members(1, 1, 2, 3);
        var img = Create(V(1, 1, 0), chunks: 10);
        var set = ImageRootSet.Create(img, TestKeys.Trusted, 4);
        d.Mqtt_(set.RootBytes); // this device is its group's seed
        Assert.Equal(img.ImageId, d.Agent.CurrentImageId);
        d.PumpAll();
        var sent = d.Peer.Sends.Where(s => s.Bytes[3] == (byte)MessageType.ImageRoot).ToList();
        Assert.Equal(new[] { DeviceHarness.PortOf(2), DeviceHarness.PortOf(3) }, sent.Select(s => s.Port).Order());
        Assert.All(sent, s => Assert.Equal(set.RootBytes, s.Bytes)); // read back from flash, byte for byte
        // A member takes it from the peer (checking the signature) and passes nothing on: the seed reaches everyone.
        var member = new DeviceHarness(nodeId: 2, groupId: 1);
        using var __ = member;
        member.Members(1, 1, 2, 3);
        member.FromPeer(sent[0].Bytes);
        Assert.Equal(img.ImageId, member.Agent.CurrentImageId);
        member.PumpAll();
        Assert.DoesNotContain(member.Peer.Sends, s => s.Bytes[3] == (byte)MessageType.ImageRoot);
        // A forged root from a peer is refused.
        var forged = (byte[])set.RootBytes.Clone();
        forged[4] ^= 1; // another image id under the same signature
        var other = new DeviceHarness(nodeId: 3, groupId: 1);
        using var ___ = other;
        other.FromPeer(forged);
        Assert.Equal(0u, other.Agent.CurrentImageId);
        Assert.Equal(1, other.Counters.ManifestsRefused);
    }

    [Fact]
    public void A_root_whose_pieces_do_not_fit_the_devices_largest_chunk_is_refused()
    {
        var d = new DeviceHarness(nodeId: 1, groupId: 1, configure: c => c.MaxChunkSize = 256);
        using var _ = d;
        var set = ImageRootSet.Create(Create(V(1, 1, 0), chunks: 40), TestKeys.Trusted, 16); // 16 hashes = 512 B a piece
        d.Agent.OnMqttMessage(Topics.GroupRoot(1), set.RootBytes, 0, set.RootBytes.Length);
        Assert.Equal(1, d.Counters.ManifestsRefused);
        Assert.Equal(0u, d.Agent.CurrentImageId);
    }

    [Fact]
    public void A_piece_that_does_not_climb_to_the_signed_root_is_refused_and_not_passed_on()
    {
        var (d, img, set) = WithRoot();
        using var _ = d;
        var bad = PiecePacket(set, 1, MessageType.Copy, DataPacket.FlagRelay, 2);
        bad[DataPacket.FixedLength + HashPiece.HeaderLength + 5] ^= 0x40; // one bit of one chunk hash
        d.FromPeer(bad);
        Assert.Equal(0, d.Counters.HashPiecesTaken);
        Assert.Equal(1, d.Counters.BadChunkHashes);
        Assert.Empty(d.Peer.Sends);
        // A root signed by a key the device does not trust is refused.
        var impostor = ImageRootSet.Create(Create(V(1, 2, 0), signer: TestKeys.Impostor), TestKeys.Impostor, 4);
        var d2 = new DeviceHarness(nodeId: 7, groupId: 1);
        using var __ = d2;
        d2.Agent.OnMqttMessage(Topics.GroupRoot(1), impostor.RootBytes, 0, impostor.RootBytes.Length);
        Assert.Equal(1, d2.Counters.ManifestsRefused);
    }

    [Fact]
    public void The_wait_before_asking_for_missing_packets_counts_from_when_the_list_became_whole()
    {
        // No data packet can be taken before the list is whole (and the gateway sends none before every device holds
        // it): counted from the root's admission, a device whose list came late asked its peers for every packet at
        // once, before any was sent (2,222 peer requests in an N = 1,000 run, every answer a duplicate; 1,614-1,649 now).
        var (d, img, set) = WithRoot();
        using var _ = d;
        d.Clock.Advance(1400);
        for (int p = 0; p < set.PieceCount; p++) d.Mqtt_(PiecePacket(set, p, MessageType.Original, 0, 0));
        d.Agent.Tick();
        d.Clock.Advance(1400); // 2.8 s after the root, 1.4 s after the list
        d.Agent.Tick();
        d.PumpAll();
        Assert.Equal(0, d.Counters.RepairRequestsSent);
        Assert.Empty(d.Peer.Sends.Where(s => s.Bytes[3] == (byte)MessageType.RepairRequest));
        d.Clock.Advance(200); // 1.6 s after the list: nothing came, it asks a peer
        d.Agent.Tick();
        d.PumpAll();
        Assert.Equal(1, d.Counters.RepairRequestsSent);
        Assert.Single(d.Peer.Sends.Where(s => s.Bytes[3] == (byte)MessageType.RepairRequest));
        Assert.Equal(img.ImageId, d.Agent.CurrentImageId);
    }

    [Fact]
    public void Missing_pieces_are_asked_of_a_peer_first_and_of_the_gateway_last()
    {
        var (d, img, set) = WithRoot();
        using var _ = d;
        d.Mqtt_(PiecePacket(set, 0, MessageType.Copy, DataPacket.FlagRepair, 0));
        for (int round = 0; round < 4; round++)
        {
            d.Clock.Advance(1600);
            d.Agent.Tick();
        }
        var toPeers = d.Peer.Sends.Where(s => s.Bytes[3] == (byte)MessageType.PieceRequest).ToList();
        Assert.Equal(3, toPeers.Count);
        var toGateway = Assert.Single(d.Out(MessageType.PieceRequest));
        var r = new PieceRequest();
        r.Parse(toGateway, 0, toGateway.Length);
        Assert.Equal((1u, img.ImageId, PieceRequest.WhatHashPieces, 1, 2), (r.NodeId, r.ImageId, r.What, r.First, r.Count));
    }

    [Fact]
    public void A_device_holding_the_list_answers_a_peers_piece_request_with_a_piece_that_verifies()
    {
        var (d, img, set) = WithRoot();
        using var _ = d;
        for (int p = 0; p < set.PieceCount; p++) d.Mqtt_(PiecePacket(set, p, MessageType.Copy, DataPacket.FlagRepair, 0));
        var req = new byte[PieceRequest.EncodedLength];
        new PieceRequest { NodeId = 3, ImageId = img.ImageId, What = PieceRequest.WhatHashPieces, First = 1, Count = 2 }.Encode(req, 0);
        d.FromPeer(req);
        d.PumpAll();
        var answers = d.Peer.Sends.Where(s => s.Port == DeviceHarness.PortOf(3)).ToList();
        Assert.Equal(2, answers.Count);
        // What it sent is what the gateway would: another device takes it.
        var other = new DeviceHarness(nodeId: 3, groupId: 1);
        using var __ = other;
        other.Agent.OnMqttMessage(Topics.GroupRoot(1), set.RootBytes, 0, set.RootBytes.Length);
        foreach (var a in answers) other.FromPeer(a.Bytes);
        Assert.Equal(2, other.Counters.HashPiecesTaken);
    }

    [Fact]
    public void After_a_reboot_the_stored_root_and_list_are_checked_again_and_receiving_resumes()
    {
        var (d, img, set) = WithRoot();
        using var _ = d;
        for (int p = 0; p < set.PieceCount; p++) d.Mqtt_(PiecePacket(set, p, MessageType.Copy, DataPacket.FlagRepair, 0));
        d.Original(img, 0);
        d.PumpAll();
        d.Reboot();
        Assert.Equal(img.ImageId, d.Agent.CurrentImageId);
        Assert.Equal(1, d.Agent.HeldCount);
        // The retained root again (the device subscribes again after the reboot) changes nothing.
        d.Agent.OnMqttMessage(Topics.GroupRoot(1), set.RootBytes, 0, set.RootBytes.Length);
        Assert.Equal(1, d.Agent.HeldCount);
        for (int i = 1; i < img.ChunkCount; i++) d.Original(img, i);
        Assert.Equal(img.ChunkCount, d.Agent.HeldCount);
    }

    [Fact]
    public void A_reboot_halfway_through_the_list_keeps_the_verified_pieces_and_asks_for_the_rest()
    {
        var (d, img, set) = WithRoot();
        using var _ = d;
        d.Mqtt_(PiecePacket(set, 0, MessageType.Copy, DataPacket.FlagRepair, 0));
        d.Original(img, 1); // covered by piece 0
        d.Reboot();
        d.Members(2, 1, 2, 3); // the retained member list comes again
        Assert.Equal(img.ImageId, d.Agent.CurrentImageId);
        Assert.Equal(1, d.Agent.HeldCount);
        d.Original(img, 5); // piece 1 is still missing
        Assert.Equal(1, d.Agent.HeldCount);
        d.Clock.Advance(1600);
        d.Agent.Tick();
        var ask = Assert.Single(d.Peer.Sends.Where(s => s.Bytes[3] == (byte)MessageType.PieceRequest).ToList());
        var r = new PieceRequest();
        r.Parse(ask.Bytes, 0, ask.Bytes.Length);
        Assert.Equal((1, 2), (r.First, r.Count));
        for (int p = 1; p < set.PieceCount; p++) d.Mqtt_(PiecePacket(set, p, MessageType.Copy, DataPacket.FlagRepair, 0));
        d.Original(img, 5);
        Assert.Equal(2, d.Agent.HeldCount);
    }

    [Fact]
    public void A_piece_torn_in_flash_by_a_power_cut_is_caught_at_the_restart_and_the_update_starts_over()
    {
        var (d, img, set) = WithRoot();
        using var _ = d;
        d.Mqtt_(PiecePacket(set, 0, MessageType.Copy, DataPacket.FlagRepair, 0));
        // Tear piece 1: only its first hash entry reached flash.
        var store = new IotOta.DeviceFirmware.Flash.UpdateStateStore(d.Flash.UpdateState);
        int at = store.ManifestByte(IotOta.DeviceFirmware.Flash.RootForm.HashesOffset(set.PieceCount)) + 4 * Manifest.HashLength;
        d.Flash.UpdateState.Write(at, img.Manifest.ChunkHashes, 4 * Manifest.HashLength, Manifest.HashLength);
        d.Reboot();
        Assert.Equal(0u, d.Agent.CurrentImageId);
        Assert.Equal(0, new IotOta.DeviceFirmware.Flash.UpdateStateStore(d.Flash.UpdateState).StoredManifestLength());
        // The retained root starts it over.
        d.Agent.OnMqttMessage(Topics.GroupRoot(1), set.RootBytes, 0, set.RootBytes.Length);
        Assert.Equal(img.ImageId, d.Agent.CurrentImageId);
    }

    [Fact]
    public void With_a_copy_tree_the_root_and_each_piece_go_down_the_tree_never_to_every_member()
    {
        // Issue #14/#15: a seed in a group of 7 with fan-out 2 sends root and piece to its two children only (spans 2
        // and 2), each child passes both on to its own children; every member gets the piece once.
        var img = Create(V(1, 1, 0), chunks: 10);
        var set = ImageRootSet.Create(img, TestKeys.Trusted, 16); // one piece
        uint[] group = [1, 2, 3, 4, 5, 6, 7];
        var devices = group.ToDictionary(n => n, n => new DeviceHarness(nodeId: n, groupId: 1));
        try
        {
            foreach (var h in devices.Values) h.TreeMembers(2, group);
            var seed = devices[1];
            seed.Mqtt_(set.RootBytes); // the gateway's root on the seed's in-topic
            seed.PumpAll();
            Assert.Empty(seed.Peer.Sends); // not flat to every member
            seed.Mqtt_(PiecePacket(set, 0, MessageType.Original, 0, 0));
            seed.PumpAll();
            var first = seed.Peer.Sends.ToList();
            Assert.Equal(4, first.Count);
            // Root and piece back to back to each child (on one connection, so the piece never comes first).
            Assert.Equal(new[] { MessageType.ImageRoot, MessageType.Copy, MessageType.ImageRoot, MessageType.Copy }, first.Select(s => (MessageType)s.Bytes[3]));
            Assert.Equal(new[] { first[0].Port, first[2].Port }, new[] { first[1].Port, first[3].Port });
            var copies = first.Where(s => s.Bytes[3] == (byte)MessageType.Copy).Select(s => (s.Port, P: Parsed.Data(s.Bytes))).ToList();
            Assert.All(copies, c => Assert.Equal(DataPacket.FlagHashPiece | DataPacket.FlagSpan, c.P.Flags));
            Assert.Equal(new[] { (DeviceHarness.PortOf(2), 2), (DeviceHarness.PortOf(5), 2) }, copies.Select(c => (c.Port, c.P.Span)));
            // Deliver everything sent down the tree, level by level, to whoever it was sent to.
            var queue = new Queue<(int Port, byte[] Bytes)>(first.Select(s => (s.Port, s.Bytes)));
            var received = group.ToDictionary(n => n, _ => 0);
            while (queue.Count > 0)
            {
                var (port, bytes) = queue.Dequeue();
                var to = devices.Values.Single(h => DeviceHarness.PortOf(h.NodeId) == port);
                int before = to.Peer.Sends.Count;
                to.FromPeer(bytes);
                to.PumpAll();
                if (bytes[3] == (byte)MessageType.Copy) received[to.NodeId]++;
                foreach (var s in to.Peer.Sends.Skip(before)) queue.Enqueue((s.Port, s.Bytes));
            }
            Assert.All(group.Where(n => n != 1), n => Assert.Equal(1, received[n]));
            Assert.All(devices.Values, h => Assert.Equal(1, h.Counters.HashPiecesTaken));
            Assert.All(devices.Values, h => Assert.Equal(img.ImageId, h.Agent.CurrentImageId));
            Assert.All(devices.Values, h => Assert.True(h.Peer.Sends.Count(s => s.Bytes[3] == (byte)MessageType.Copy) <= 2));
        }
        finally
        {
            foreach (var h in devices.Values) h.Dispose();
        }
    }
}
