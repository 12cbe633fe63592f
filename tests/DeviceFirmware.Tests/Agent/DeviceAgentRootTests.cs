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
    private static byte[] PiecePacket(ImageRootSet set, int p, MessageType type, byte flags, uint sender, params FleetMember[] relays)
    {
        byte[] piece = set.Piece(p);
        var buf = new byte[DataPacket.EncodedLength(relays.Length, piece.Length)];
        DataPacket.Write(new WireWriter(buf), type, set.ImageId, p, (byte)(DataPacket.FlagHashPiece | flags), sender, relays.Length,
            relays.Select(r => r.NodeId).ToArray(), relays.Select(r => r.Ip).ToArray(), relays.Select(r => r.Port).ToArray(), piece, 0, piece.Length);
        return buf;
    }

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
    public void Pieces_from_an_original_are_kept_passed_on_and_complete_the_image()
    {
        var (d, img, set) = WithRoot();
        using var _ = d;
        Assert.Equal(3, set.PieceCount);
        Assert.Equal(0u, d.Agent.CurrentImageId); // nothing accepted before the list is complete
        for (int p = 0; p < set.PieceCount; p++) d.Mqtt_(PiecePacket(set, p, MessageType.Original, 0, 0, DeviceHarness.Member(50)));
        Assert.Equal(img.ImageId, d.Agent.CurrentImageId);
        Assert.Equal(Shared.Protocol.DeviceState.Receiving, d.Agent.State);
        Assert.Equal(3, d.Counters.HashPiecesTaken);
        // Each piece went to the named relay (relay flag) and to both other members (plain), with this device as sender.
        var sends = d.Peer.Sends;
        Assert.Equal(3 * 3, sends.Count);
        Assert.All(sends, s => Assert.Equal(1u, Parsed.Data(s.Bytes).SenderNode));
        Assert.Equal(3, sends.Count(s => s.Port == DeviceHarness.PortOf(50) && (Parsed.Data(s.Bytes).Flags & DataPacket.FlagRelay) != 0));
        // A chunk now verifies against the assembled list and is written.
        d.Original(img, 2);
        Assert.Equal(1, d.Agent.HeldCount);
        Assert.Equal(Chunk(img, 2), d.ReadSlot(1, img.Manifest.ChunkOffset(2), img.ChunkSize));
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
}
