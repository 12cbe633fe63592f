using IotOta.DeviceFirmware.Copies;
using IotOta.DeviceFirmware.Tests.Support;
using IotOta.Shared.Protocol;
using static IotOta.DeviceFirmware.Tests.Support.Images;

namespace IotOta.DeviceFirmware.Tests.Copies;

/// <summary>
/// Copies are streamed from flash to the peer port in pieces of <see cref="Forwarder.PieceLength"/> bytes, each read
/// under the agent's lock. Between two pieces the receive path may move the packet (staging drained into the sink) or
/// a new image may replace it: the copy must still carry exactly its chunk, or be abandoned, never sent torn.
/// </summary>
public class ForwarderStreamTests
{
    private const int ChunkSize = 2048; // four pieces per copy

    [Fact]
    public void A_copy_whose_packet_moves_from_staging_into_the_slot_between_pieces_arrives_whole()
    {
        using var d = new DeviceHarness(nodeId: 1, sequential: true, stagingSize: 64 * 1024);
        var img = Create(V(1, 1, 0), chunks: 4, chunkSize: ChunkSize, tail: 0);
        d.Members(1, 1, 2);
        d.Manifest(img);
        d.Original(img, 1); // ahead of the sink: waits in staging, its member copy is queued
        Assert.Equal(1, d.Agent.StagedCount);
        bool moved = false;
        d.Peer.BeforePiece = k =>
        {
            if (k != 2 || moved) return;
            moved = true;
            d.Original(img, 0); // the sink takes 0, then drains 1 out of staging (its entry is erased)
        };
        d.PumpAll();
        d.Peer.BeforePiece = null;
        Assert.True(moved);
        Assert.Equal(0, d.Agent.StagedCount);
        var copies = d.Peer.Sends.Where(s => s.Bytes[3] == (byte)MessageType.Copy).Select(s => Parsed.Data(s.Bytes)).ToList();
        var one = Assert.Single(copies, p => p.Index == 1);
        Assert.Equal(Chunk(img, 1), one.PayloadBuffer.AsSpan(one.PayloadOffset, one.PayloadLength).ToArray());
        Assert.All(copies, p => Assert.Equal(Chunk(img, p.Index), p.PayloadBuffer.AsSpan(p.PayloadOffset, p.PayloadLength).ToArray()));
        Assert.Equal(0, d.Counters.CopiesAbandoned);
    }

    [Fact]
    public void A_copy_whose_image_is_replaced_between_pieces_is_abandoned_not_sent_torn()
    {
        using var d = new DeviceHarness(nodeId: 1);
        var img = Create(V(1, 1, 0), chunks: 4, chunkSize: ChunkSize, tail: 0);
        var next = Create(V(1, 2, 0), chunks: 4, chunkSize: ChunkSize, tail: 0, seed: 2);
        d.Members(1, 1, 2);
        d.Manifest(img);
        d.Original(img, 0);
        bool replaced = false;
        d.Peer.BeforePiece = k =>
        {
            if (k != 1 || replaced) return;
            replaced = true;
            d.Manifest(next); // a newer image: the slot is taken for it, packet 0 of img is gone
        };
        d.PumpAll();
        d.Peer.BeforePiece = null;
        Assert.Equal(1, d.Peer.AbandonedCount);
        Assert.Equal(1, d.Counters.CopiesAbandoned);
        Assert.DoesNotContain(d.Peer.Sends, s => s.Bytes[3] == (byte)MessageType.Copy);
        // the next image's copies go out whole
        d.Original(next, 2);
        d.PumpAll();
        var copy = Parsed.Data(Assert.Single(d.Peer.Sends, s => s.Bytes[3] == (byte)MessageType.Copy).Bytes);
        Assert.Equal(next.ImageId, copy.ImageId);
        Assert.Equal(Chunk(next, 2), copy.PayloadBuffer.AsSpan(copy.PayloadOffset, copy.PayloadLength).ToArray());
    }
}
