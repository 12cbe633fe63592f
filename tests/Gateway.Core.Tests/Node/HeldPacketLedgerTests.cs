using IotOta.Gateway.Fleet;
using IotOta.Gateway.Node;
using Microsoft.Extensions.Time.Testing;

namespace IotOta.Gateway.Core.Tests.Node;

public sealed class HeldPacketLedgerTests
{
    private sealed class MemoryStore : INodeStore
    {
        public readonly Dictionary<(uint, uint), byte[]> Saved = new();
        public int Loads;

        public void SaveDevice(DeviceRecord device) { }

        public void SaveProgress(uint node, uint imageId, int chunkCount, byte[] bitmap) => Saved[(node, imageId)] = bitmap;

        public IReadOnlyDictionary<uint, byte[]> LoadProgress(uint imageId)
        {
            Loads++;
            return Saved.Where(kv => kv.Key.Item2 == imageId).ToDictionary(kv => kv.Key.Item1, kv => kv.Value);
        }
    }

    [Fact]
    public void A_device_keeps_what_it_reported_once_and_each_report_is_counted()
    {
        var ledger = new HeldPacketLedger(new FakeTimeProvider());
        var learned = new List<uint>();
        ledger.Learned += learned.Add;
        ledger.Learn(7, 42, 12, [0b0000_0101, 0]);
        ledger.Learn(7, 42, 12, [0b0000_0010, 0b0000_1000]); // a later report without packet 0: it still holds it
        Assert.True(ledger.Holds(7, 42, 0));
        Assert.True(ledger.Holds(7, 42, 1));
        Assert.True(ledger.Holds(7, 42, 2));
        Assert.True(ledger.Holds(7, 42, 11));
        Assert.False(ledger.Holds(7, 42, 3));
        Assert.False(ledger.Holds(7, 42, 12));
        Assert.False(ledger.Holds(7, 42, -1));
        Assert.False(ledger.Holds(8, 42, 0));
        Assert.False(ledger.Holds(7, 43, 0));
        Assert.Equal(4, ledger.Count(7, 42));
        Assert.Equal(2, ledger.Reports);
        Assert.Equal([7u, 7u], learned);
        Assert.True(ledger.HasReported(7, 42));
    }

    [Fact]
    public void A_report_with_another_chunk_count_starts_the_image_over()
    {
        var ledger = new HeldPacketLedger(new FakeTimeProvider());
        ledger.Learn(1, 5, 8, [0xFF]);
        ledger.Learn(1, 5, 16, [0x01, 0x00]);
        Assert.Equal(1, ledger.Count(1, 5));
    }

    [Fact]
    public void After_a_restart_it_knows_what_the_store_holds_but_not_that_the_device_reported_since()
    {
        var store = new MemoryStore();
        var before = new HeldPacketLedger(new FakeTimeProvider(), store);
        before.Learn(3, 9, 8, [0b1000_0001]);
        Assert.Equal([0b1000_0001], store.Saved[(3, 9)]);

        var after = new HeldPacketLedger(new FakeTimeProvider(), store);
        Assert.True(after.Holds(3, 9, 7));
        Assert.Equal(2, after.Count(3, 9));
        Assert.False(after.HasReported(3, 9));
        Assert.Equal(0, after.Reports);
        after.Learn(3, 9, 8, [0b0000_0010]);
        Assert.True(after.HasReported(3, 9));
        Assert.Equal(3, after.Count(3, 9));
        Assert.Equal(2, store.Loads); // once per ledger and image
    }
    [Fact]
    public void A_notice_adds_one_packet_without_storing_it_or_raising_learned_and_counts_only_what_is_new()
    {
        var store = new MemoryStore();
        var ledger = new HeldPacketLedger(new FakeTimeProvider(), store);
        var learned = new List<uint>();
        ledger.Learned += learned.Add;
        ledger.Noticed(7, 42, 12, 9);
        Assert.True(ledger.Holds(7, 42, 9));
        Assert.False(ledger.Holds(7, 42, 8));
        Assert.Equal(1, ledger.Reports);
        ledger.Noticed(7, 42, 12, 9);  // known already
        ledger.Noticed(7, 42, 12, 12); // out of range
        ledger.Noticed(7, 42, 12, -1);
        Assert.Equal(1, ledger.Reports);
        Assert.Empty(learned);
        Assert.Empty(store.Saved);
        ledger.Learn(7, 42, 12, [0b0000_0001, 0]); // a report adds to what the notice told
        Assert.True(ledger.Holds(7, 42, 0));
        Assert.True(ledger.Holds(7, 42, 9));
        Assert.Equal(2, ledger.Count(7, 42));
        ledger.Learn(7, 42, 12, [0b0000_0001, 0], whole: true); // a repair request names 9 missing: it is
        Assert.True(ledger.Holds(7, 42, 0));
        Assert.False(ledger.Holds(7, 42, 9));
        Assert.Equal(new byte[] { 0b0000_0001, 0 }, store.Saved[(7, 42)]);
    }
}
