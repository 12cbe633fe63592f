using IotOta.DeviceFirmware.Agent;
using IotOta.DeviceFirmware.Tests.Support;
using IotOta.Gateway.Images;
using IotOta.Shared.Protocol;
using IotOta.VirtualDevice.Flash;

namespace IotOta.DeviceFirmware.Tests.Agent;

/// <summary>The device core with a sequential-only sink (like an In-Field-Update session) and a flash staging area
/// for packets that arrive ahead of the write position.</summary>
public class DeviceAgentSequentialTests
{
    // 256-byte chunks: one staging entry is one 4 KiB sector.
    private static DeviceHarness Seq(int stagingSectors, bool canResume = true)
        => new(configure: c => c.MaxChunkSize = 256, sequential: true, stagingSize: stagingSectors * 4096, canResume: canResume);

    private static void Deliver(DeviceHarness d, FirmwareImage img, params int[] order)
    {
        foreach (int i in order) d.Original(img, i);
    }

    private static void AssertInstalled(DeviceHarness d, FirmwareImage img)
    {
        d.PumpAll();
        Assert.Equal(1, d.Restarts.Count);
        Assert.Equal(img.Bytes, d.ReadSlot(1, 0, img.Bytes.Length));
        Assert.Equal(0, d.Sink!.OutOfOrderWrites);
        Assert.True(d.Sink.Completed);
    }

    [Fact]
    public void Out_of_order_packets_wait_in_staging_and_drain_when_the_gap_fills()
    {
        using var d = Seq(4);
        var img = Images.Create(Images.V(2, 0, 0), chunks: 10);
        d.Manifest(img);
        Assert.True(d.Agent.SequentialSink);
        Assert.Equal(4, d.Agent.StagingCapacity);
        Deliver(d, img, 4, 3, 2, 1);
        Assert.Equal(4, d.Agent.StagedCount);
        Assert.Equal(0, d.Sink!.NextOffset);
        Assert.Equal(4, d.Agent.HeldCount); // staged packets are held (and forwarded from staging)
        d.Original(img, 0);
        Assert.Equal(0, d.Agent.StagedCount);
        Assert.Equal(5 * 256, d.Sink.NextOffset);
        Deliver(d, img, 9, 8, 7, 6, 5);
        Assert.Equal(4, d.Counters.StagingHighWater);
        Assert.Equal(8, d.Counters.PacketsStaged);
        Assert.Equal(8, d.Counters.StagingDrained);
        Assert.Equal(0, d.Counters.StagingFullDrops);
        Assert.Equal(DeviceState.Receiving, d.Agent.State);
        AssertInstalled(d, img);
    }

    [Fact]
    public void A_staged_packet_is_forwarded_to_the_group_from_staging()
    {
        using var d = Seq(4);
        var img = Images.Create(Images.V(2, 0, 0), chunks: 6);
        d.Members(1, d.NodeId, 2);
        d.Manifest(img);
        d.Original(img, 3);
        d.PumpAll();
        var sent = d.Peer.Sends.Where(s => s.Address == DeviceHarness.AddressOf(2)).ToList();
        Assert.Single(sent);
        var p = new DataPacket();
        p.Parse(sent[0].Bytes, 0, sent[0].Bytes.Length);
        Assert.Equal(3, p.Index);
        Assert.Equal(Images.Chunk(img, 3), p.PayloadBuffer.AsSpan(p.PayloadOffset, p.PayloadLength).ToArray());
    }

    [Fact]
    public void Duplicates_are_counted_once_whether_staged_or_written()
    {
        using var d = Seq(4);
        var img = Images.Create(Images.V(2, 0, 0), chunks: 6);
        d.Manifest(img);
        Deliver(d, img, 2, 2, 0, 0, 1, 2);
        Assert.Equal(3, d.Counters.DuplicatePackets);
        Assert.Equal(1, d.Counters.PacketsStaged);
        Assert.Equal(3 * 256, d.Sink!.NextOffset);
        Deliver(d, img, 3, 4, 5);
        AssertInstalled(d, img);
    }

    [Fact]
    public void A_packet_that_finds_staging_full_is_dropped_not_held_and_repaired_later()
    {
        using var d = Seq(2);
        var img = Images.Create(Images.V(2, 0, 0), chunks: 6);
        d.Manifest(img);
        Deliver(d, img, 1, 2, 3);
        Assert.Equal(1, d.Counters.StagingFullDrops);
        Assert.Equal(2, d.Agent.HeldCount);
        Assert.Equal(2, d.Counters.StagingHighWater);
        d.PumpAll();
        Assert.Empty(d.Notices().Where(n => n.Index == 3)); // no receipt notice for a dropped packet
        // the gap fills, staging drains, and packet 3 comes again (repair) and fits now
        Deliver(d, img, 0, 3, 4, 5);
        Assert.Equal(6, d.Agent.HeldCount);
        AssertInstalled(d, img);
    }

    [Fact]
    public void Without_a_staging_partition_early_packets_are_dropped_and_in_order_delivery_still_installs()
    {
        using var d = Seq(0);
        var img = Images.Create(Images.V(2, 0, 0), chunks: 5);
        d.Manifest(img);
        Assert.Equal(0, d.Agent.StagingCapacity);
        Deliver(d, img, 2);
        Assert.Equal(0, d.Agent.HeldCount);
        Assert.Equal(1, d.Counters.StagingFullDrops);
        Deliver(d, img, 0, 1, 2, 3, 4);
        AssertInstalled(d, img);
    }

    [Fact]
    public void Power_cut_while_a_packet_is_being_staged_then_resume()
    {
        using var d = Seq(4);
        var img = Images.Create(Images.V(2, 0, 0), chunks: 8);
        d.Manifest(img);
        Deliver(d, img, 0, 3);
        // the next staging write (packet 5's payload) is torn
        d.Flash.Flash.PowerCut = op => op.Kind == FlashOpKind.Write && op.Partition == "staging";
        Assert.Throws<PowerCutException>(() => d.Original(img, 5));
        d.Reboot();
        Assert.Equal(DeviceState.Receiving, d.Agent.State);
        Assert.Equal(2, d.Agent.HeldCount); // 0 in the slot, 3 in staging; the torn 5 is not held
        Assert.Equal(1, d.Agent.StagedCount);
        Assert.Equal(256, d.Sink!.NextOffset);
        Deliver(d, img, 5, 1, 2, 4, 6, 7);
        AssertInstalled(d, img);
    }

    [Fact]
    public void Power_cut_in_the_middle_of_a_drain_then_resume()
    {
        using var d = Seq(4);
        var img = Images.Create(Images.V(2, 0, 0), chunks: 8);
        d.Manifest(img);
        Deliver(d, img, 1, 2, 3);
        // packet 0 goes to the slot, then the drain writes 1 and frees its entry, writes 2 — and power fails while
        // freeing packet 2's entry: packet 2 is in the slot and (torn) in staging.
        int erases = 0;
        d.Flash.Flash.PowerCut = op => op.Kind == FlashOpKind.Erase && op.Partition == "staging" && ++erases == 2;
        Assert.Throws<PowerCutException>(() => d.Original(img, 0));
        d.Reboot();
        Assert.Equal(4, d.Agent.HeldCount);
        Assert.Equal(4 * 256, d.Sink!.NextOffset); // 0,1,2 in the slot, 3 drained on resume
        Assert.Equal(0, d.Agent.StagedCount);
        Deliver(d, img, 4, 5, 6, 7);
        AssertInstalled(d, img);
    }

    [Fact]
    public void Power_cut_tearing_a_sink_write_is_cleaned_on_resume()
    {
        using var d = Seq(4);
        var img = Images.Create(Images.V(2, 0, 0), chunks: 8);
        d.Manifest(img);
        Deliver(d, img, 0, 1, 3);
        d.Flash.Flash.PowerCut = op => op.Kind == FlashOpKind.Write && op.Partition == "slotB";
        Assert.Throws<PowerCutException>(() => d.Original(img, 2));
        d.Reboot();
        Assert.Equal(3, d.Agent.HeldCount); // 0, 1 and the staged 3; torn 2 is not held
        Assert.Equal(2 * 256, d.Sink!.NextOffset);
        Deliver(d, img, 2, 4, 5, 6, 7);
        AssertInstalled(d, img);
    }

    [Fact]
    public void A_sink_that_cannot_resume_starts_over_and_keeps_what_staging_holds()
    {
        using var d = Seq(4, canResume: false);
        var img = Images.Create(Images.V(2, 0, 0), chunks: 8);
        d.Manifest(img);
        Deliver(d, img, 0, 1, 5, 6);
        d.Reboot();
        Assert.Equal(2, d.Agent.HeldCount); // 5 and 6 survive in staging; 0 and 1 are fetched again
        Assert.Equal(0, d.Sink!.NextOffset);
        Assert.Equal(2, d.Counters.ResumeHeldInvalid);
        Deliver(d, img, 0, 1, 2, 3, 4, 7);
        AssertInstalled(d, img);
    }

    [Fact]
    public void A_new_manifest_empties_staging()
    {
        using var d = Seq(4);
        var a = Images.Create(Images.V(2, 0, 0), chunks: 6, seed: 1);
        var b = Images.Create(Images.V(3, 0, 0), chunks: 6, seed: 2);
        d.Manifest(a);
        Deliver(d, a, 2, 3);
        Assert.Equal(2, d.Agent.StagedCount);
        d.Manifest(b);
        Assert.Equal(0, d.Agent.StagedCount);
        Assert.Equal(b.Manifest.ImageId, d.Agent.CurrentImageId);
        Deliver(d, b, 4, 3, 2, 1, 0, 5);
        Assert.True(6 == d.Agent.HeldCount, string.Join("\n", d.Log.Lines));
        AssertInstalled(d, b);
    }
}
