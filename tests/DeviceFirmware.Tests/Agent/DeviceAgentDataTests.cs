using IotOta.DeviceFirmware.Tests.Support;
using IotOta.Shared.Protocol;
using static IotOta.DeviceFirmware.Tests.Support.Images;

namespace IotOta.DeviceFirmware.Tests.Agent;

public class DeviceAgentDataTests
{
    private static (DeviceHarness d, IotOta.Gateway.Images.FirmwareImage img) Receiving(Action<IotOta.DeviceFirmware.Agent.DeviceConfig>? cfg = null)
    {
        var d = new DeviceHarness(nodeId: 1, groupId: 1, configure: cfg);
        d.Members(1, 1, 2, 3, 4);
        var img = Create(V(1, 1, 0));
        d.Manifest(img);
        return (d, img);
    }

    [Fact]
    public void Original_is_written_forwarded_to_the_group_and_relays_then_noticed()
    {
        var (d, img) = Receiving();
        using var _ = d;
        d.Clock.Advance(5);
        long rxAt = d.Clock.NowMs;
        d.Original(img, 3, DeviceHarness.Member(50), DeviceHarness.Member(51));

        Assert.Equal(Chunk(img, 3), d.ReadSlot(1, img.Manifest.ChunkOffset(3), img.ChunkSize));
        Assert.Equal(1, d.Agent.HeldCount);
        Assert.Equal(1, d.Counters.OriginalsReceived);
        Assert.Empty(d.Notices()); // not before forwarding
        Assert.Empty(d.Peer.Sends);

        d.Clock.Advance(7);
        Assert.True(d.PumpAll() > 0);

        var sends = d.Peer.Sends;
        Assert.Equal(
            new[] { DeviceHarness.AddressOf(2), DeviceHarness.AddressOf(3), DeviceHarness.AddressOf(4), DeviceHarness.AddressOf(50), DeviceHarness.AddressOf(51) }.OrderBy(s => s),
            sends.Select(s => s.Address).OrderBy(s => s));
        foreach (var s in sends)
        {
            var p = Parsed.Data(s.Bytes);
            Assert.Equal(MessageType.Copy, p.Type);
            Assert.Equal(img.ImageId, p.ImageId);
            Assert.Equal(3, p.Index);
            Assert.Equal(1u, p.SenderNode);
            Assert.Equal(0, p.TargetCount);
            Assert.Equal(Chunk(img, 3), Parsed.Payload(s.Bytes));
            bool relay = s.Port == DeviceHarness.PortOf(50) || s.Port == DeviceHarness.PortOf(51);
            Assert.Equal(relay ? DataPacket.FlagRelay : (byte)0, p.Flags);
        }

        var notice = Assert.Single(d.Notices());
        Assert.Equal(1u, notice.NodeId);
        Assert.Equal(img.ImageId, notice.ImageId);
        Assert.Equal(3, notice.Index);
        Assert.Equal(ReceiptNotice.KindOriginal, notice.Kind);
        Assert.Equal(5, notice.CopiesSent);
        Assert.Equal(rxAt, notice.ReceiveTimeMs);
        Assert.Equal(rxAt + 7, notice.ForwardedTimeMs);
        Assert.False(d.Mqtt.Published.Single(p => p.Bytes[3] == (byte)MessageType.CompactNoticeBatch).Retain);
        Assert.Equal(5, d.Counters.CopiesSent);
        Assert.Equal(1, d.Counters.NoticesSent);
        Assert.False(d.Agent.PumpOnce());
    }

    [Fact]
    public void Failed_sends_are_counted_and_the_notice_reports_only_the_delivered_copies()
    {
        var (d, img) = Receiving();
        using var _ = d;
        d.Peer.FailPorts.Add(DeviceHarness.PortOf(3));
        d.Peer.FailPorts.Add(DeviceHarness.PortOf(50));
        d.Original(img, 0, DeviceHarness.Member(50));
        d.PumpAll();
        Assert.Equal(2, d.Counters.CopiesSent);
        Assert.Equal(2, d.Counters.CopiesFailed);
        Assert.Equal(2, Assert.Single(d.Notices()).CopiesSent);
    }

    [Fact]
    public void Plain_copy_from_a_peer_is_written_but_not_forwarded_and_not_noticed()
    {
        var (d, img) = Receiving();
        using var _ = d;
        d.FromPeer(Copy(img, 2, sender: 3));
        Assert.Equal(Chunk(img, 2), d.ReadSlot(1, img.Manifest.ChunkOffset(2), img.ChunkSize));
        Assert.Equal(1, d.Counters.CopiesReceived);
        Assert.False(d.Agent.PumpOnce());
        Assert.Empty(d.Peer.Sends);
        Assert.Empty(d.Notices());
    }

    [Fact]
    public void Relay_copy_is_forwarded_to_the_group_except_its_sender_and_noticed_as_relay()
    {
        var (d, img) = Receiving();
        using var _ = d;
        d.FromPeer(Copy(img, 4, sender: 3, flags: DataPacket.FlagRelay));
        d.PumpAll();
        Assert.Equal(1, d.Counters.RelaysReceived);
        Assert.Equal(new[] { DeviceHarness.AddressOf(2), DeviceHarness.AddressOf(4) }, d.Peer.Sends.Select(s => s.Address).OrderBy(s => s));
        Assert.All(d.Peer.Sends, s => Assert.Equal((byte)0, Parsed.Data(s.Bytes).Flags));
        var n = Assert.Single(d.Notices());
        Assert.Equal(ReceiptNotice.KindRelay, n.Kind);
        Assert.Equal(4, n.Index);
    }

    [Fact]
    public void Last_chunk_with_its_short_length_round_trips()
    {
        var (d, img) = Receiving();
        using var _ = d;
        int last = img.ChunkCount - 1;
        d.Original(img, last);
        d.PumpAll();
        var s = d.Peer.Sends.First();
        Assert.Equal(Chunk(img, last), Parsed.Payload(s.Bytes));
        Assert.Equal(img.Manifest.ChunkLength(last), Chunk(img, last).Length);
    }

    [Fact]
    public void Packet_whose_chunk_hash_does_not_match_is_dropped()
    {
        var (d, img) = Receiving();
        using var _ = d;
        byte[] bad = Original(img, 1);
        bad[^1] ^= 0xFF;
        d.Mqtt_(bad);
        byte[] badCopy = Copy(img, 2, sender: 3, flags: DataPacket.FlagRelay);
        badCopy[^5] ^= 0x10;
        d.FromPeer(badCopy);

        Assert.Equal(2, d.Counters.BadChunkHashes);
        Assert.Equal(0, d.Counters.PacketsWritten);
        Assert.Equal(0, d.Agent.HeldCount);
        Assert.All(d.ReadSlot(1, 0, 3 * img.ChunkSize), b => Assert.Equal(0xFF, b));
        Assert.False(d.Agent.PumpOnce());
        Assert.Empty(d.Peer.Sends);
        Assert.Empty(d.Notices());

        d.Original(img, 1); // the good packet is still taken afterwards
        Assert.Equal(1, d.Agent.HeldCount);
    }

    [Fact]
    public void Duplicate_is_not_rewritten_but_a_duplicate_original_is_still_forwarded()
    {
        var (d, img) = Receiving();
        using var _ = d;
        d.FromPeer(Copy(img, 5, sender: 2));
        long writes = d.Flash.Flash.WriteCount;

        d.FromPeer(Copy(img, 5, sender: 3));
        Assert.Equal(writes, d.Flash.Flash.WriteCount);
        Assert.False(d.Agent.PumpOnce());

        d.Original(img, 5);
        Assert.Equal(writes, d.Flash.Flash.WriteCount);
        Assert.Equal(2, d.Counters.DuplicatePackets);
        Assert.Equal(1, d.Counters.PacketsWritten);
        Assert.Equal(1, d.Agent.HeldCount);

        d.PumpAll();
        Assert.Equal(3, d.Peer.Sends.Count);
        Assert.All(d.Peer.Sends, s => Assert.Equal(Chunk(img, 5), Parsed.Payload(s.Bytes)));
        Assert.Single(d.Notices());
    }

    [Fact]
    public void Packets_of_another_image_are_ignored()
    {
        var (d, img) = Receiving();
        using var _ = d;
        var other = Create(V(1, 1, 0), seed: 99);
        Assert.NotEqual(img.ImageId, other.ImageId);
        d.Original(other, 0);
        d.FromPeer(Copy(other, 1, sender: 2, flags: DataPacket.FlagRelay));
        Assert.Equal(0, d.Agent.HeldCount);
        Assert.Equal(0, d.Counters.PacketsWritten + d.Counters.OriginalsReceived + d.Counters.RelaysReceived + d.Counters.MessagesRejected);
        Assert.False(d.Agent.PumpOnce());
        Assert.All(d.ReadSlot(1, 0, 2 * img.ChunkSize), b => Assert.Equal(0xFF, b));
    }

    [Fact]
    public void Packets_before_any_manifest_are_ignored()
    {
        using var d = new DeviceHarness();
        var img = Create(V(1, 1, 0));
        d.Original(img, 0);
        Assert.Equal(0, d.Agent.HeldCount);
        Assert.False(d.Agent.PumpOnce());
        Assert.Empty(d.Peer.Sends);
    }

    [Fact]
    public void Index_beyond_the_image_or_wrong_payload_length_is_rejected()
    {
        var (d, img) = Receiving();
        using var _ = d;
        var bigger = Create(V(1, 1, 0), chunks: img.ChunkCount + 2, imageId: img.ImageId, seed: 5);
        d.Original(bigger, img.ChunkCount + 1); // index out of range for the accepted manifest
        d.Original(bigger, img.ChunkCount - 1); // full-length payload where the last chunk is short
        Assert.Equal(2, d.Counters.MessagesRejected);
        Assert.Equal(0, d.Agent.HeldCount);
    }

    public static IEnumerable<object[]> Malformed()
    {
        var img = Create(V(1, 1, 0));
        byte[] good = Original(img, 0);
        yield return new object[] { "empty", Array.Empty<byte>() };
        yield return new object[] { "header only", good[..4] };
        yield return new object[] { "truncated header", good[..10] };
        yield return new object[] { "truncated payload", good[..^1] };
        yield return new object[] { "trailing byte", good.Concat(new byte[] { 0 }).ToArray() };
        yield return new object[] { "garbage", RandomBytes(300, 3) };
        var badVersion = (byte[])good.Clone();
        badVersion[2] = 9;
        yield return new object[] { "protocol version 9", badVersion };
        var unknownType = (byte[])good.Clone();
        unknownType[3] = 0xEE;
        yield return new object[] { "unknown type", unknownType };
        var tooManyTargets = (byte[])good.Clone();
        tooManyTargets[DataPacket.FlagsOffset + 1 + 4] = 200;
        yield return new object[] { "too many targets", tooManyTargets };
        var hugeIndex = (byte[])good.Clone();
        hugeIndex[8] = 0xFF; hugeIndex[9] = 0xFF; hugeIndex[10] = 0xFF; hugeIndex[11] = 0xFF;
        yield return new object[] { "huge index", hugeIndex };
        var notice = new ReceiptNotice { NodeId = 5, ImageId = 1 };
        var nb = new byte[ReceiptNotice.EncodedLength];
        notice.Encode(nb, 0);
        yield return new object[] { "receipt notice", nb };
    }

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Malformed_bytes_only_count_as_rejected(string what, byte[] bytes)
    {
        var (d, img) = Receiving();
        using var _ = d;
        Assert.Equal(img.ImageId, d.Agent.CurrentImageId);
        var copy = bytes.Length > 3 && bytes[3] == (byte)MessageType.Original ? (byte[])bytes.Clone() : bytes;
        if (copy.Length > 3 && copy[3] == (byte)MessageType.Original) copy[3] = (byte)MessageType.Copy;

        var ex = Record.Exception(() =>
        {
            d.Mqtt_(bytes);
            d.FromPeer(copy);
            d.Agent.OnMqttMessage(Topics.Manifest, bytes, 0, bytes.Length);
        });

        Assert.Null(ex);
        Assert.True(3 == d.Counters.MessagesRejected, what + ": rejected " + d.Counters.MessagesRejected);
        Assert.Equal(0, d.Agent.HeldCount);
        Assert.Equal(DeviceState.Receiving, d.Agent.State);
    }

    [Fact]
    public void Every_truncation_of_every_message_kind_is_rejected_without_throwing()
    {
        using var d = new DeviceHarness(nodeId: 1, groupId: 1);
        var img = Create(V(1, 1, 0));
        var members = new MemberListUpdate { GroupId = 1, Epoch = 1, Count = 2 };
        members.EnsureCapacity(2);
        members.NodeIds[0] = 1; members.NodeIds[1] = 2;
        byte[] memberBytes = members.ToBytes();
        var rq = new RepairRequest { NodeId = 2, ImageId = img.ImageId, ChunkCount = img.ChunkCount, MaxReplies = 4, MissingBuffer = new byte[2] };
        byte[] rqBytes = new byte[RepairRequest.EncodedLength(img.ChunkCount)];
        rq.Encode(rqBytes, 0);
        byte[][] messages = { img.ManifestBytes, Original(img, 0), Copy(img, 0, 2), memberBytes, rqBytes };

        int calls = 0;
        foreach (byte[] m in messages)
        {
            for (int len = 0; len < m.Length; len++)
            {
                byte[] cut = m[..len];
                if (m[3] != (byte)MessageType.RepairRequest) { d.Agent.OnMqttMessage(Topics.DeviceIn(1), cut, 0, cut.Length); calls++; }
                if (m[3] != (byte)MessageType.Manifest && m[3] != (byte)MessageType.MemberList && m[3] != (byte)MessageType.Original) { d.Agent.OnPeerMessage(cut, 0, cut.Length); calls++; }
            }
        }

        Assert.Equal(calls, d.Counters.MessagesRejected);
        Assert.Equal(0, d.Counters.ManifestsRefused);
        Assert.Equal(DeviceState.Idle, d.Agent.State);
        Assert.Equal(0, d.Agent.MemberCount);
    }

    [Fact]
    public void Peer_sending_an_original_or_a_manifest_is_rejected()
    {
        var (d, img) = Receiving();
        using var _ = d;
        d.FromPeer(Original(img, 0));
        d.FromPeer(img.ManifestBytes);
        Assert.Equal(2, d.Counters.MessagesRejected);
        Assert.Equal(0, d.Agent.HeldCount);
    }
    [Fact]
    public void A_group_mate_leaving_the_member_list_makes_the_device_report_what_it_holds_at_once()
    {
        var (d, img) = Receiving();
        using var _ = d;
        d.Original(img, 0);
        d.PumpAll();
        d.Agent.Tick();
        int reports = d.Out(MessageType.ProgressReport).Count;
        Assert.True(reports >= 1);
        d.Original(img, 1);
        d.PumpAll();
        d.Clock.Advance(100);
        d.Agent.Tick();
        Assert.Equal(reports, d.Out(MessageType.ProgressReport).Count); // within ProgressIntervalMs: nothing yet
        d.Members(2, 1, 2, 3, 4, 5);                                    // one joined: nothing to tell
        d.Agent.Tick();
        Assert.Equal(reports, d.Out(MessageType.ProgressReport).Count);
        d.Members(3, 1, 2, 4, 5);                                       // 3 left: report now
        d.Agent.Tick();
        Assert.Equal(reports + 1, d.Out(MessageType.ProgressReport).Count);
        var r = new ProgressReport();
        byte[] last = d.Out(MessageType.ProgressReport).Last();
        r.Parse(last, 0, last.Length);
        Assert.Equal(2, r.HeldCount);
        Assert.True(r.Holds(0) && r.Holds(1));
    }
}
