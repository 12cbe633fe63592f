using IotOta.Board.Loader;
using IotOta.Board.Storage;
using IotOta.Gateway.Images;
using IotOta.TestSupport;

namespace IotOta.Board.Tests.Loader;

/// <summary>The gateway's packer and the board's reader and loader agree; bad bundles fail the self-test with a reason.</summary>
public sealed class AppBundleTests : IDisposable
{
    private readonly TempDir _dir = new("iotota-bundle-");
    private readonly List<string> _log = new();

    public void Dispose() => _dir.Dispose();

    private FilePartition SlotWith(byte[] bundle)
    {
        var slot = new FilePartition(_dir.Path + "/", "slot" + Guid.NewGuid().ToString("N")[..6], 64 * 4096, 4096);
        slot.Write(0, bundle, 0, bundle.Length);
        return slot;
    }

    private sealed class ListLog(List<string> into) : DeviceFirmware.Ports.ILogPort
    {
        public void Log(string message) { lock (into) into.Add(message); }
    }

    [Fact]
    public void Packed_bundle_reads_back_with_every_assembly_in_order()
    {
        byte[] lib = TestApps.Build("BundleLibA", true);
        byte[] app = TestApps.Build("BundleAppA", true);
        byte[] bundle = AppBundlePacker.Pack("BundleAppA.Entry", [new("BundleLibA.pe", lib), new("BundleAppA.pe", app)]);
        var b = AppBundle.Read(SlotWith(bundle), out string? why);
        Assert.Null(why);
        Assert.NotNull(b);
        Assert.Equal("BundleAppA.Entry", b!.EntryType);
        Assert.Equal(2, b.Count);
        Assert.Equal(bundle.Length, b.Length);
        Assert.Equal(["BundleLibA.pe", "BundleAppA.pe"], b.Names[..2]);
        Assert.Equal(lib, bundle.AsSpan(b.Offsets[0], b.Lengths[0]).ToArray());
        Assert.Equal(app, bundle.AsSpan(b.Offsets[1], b.Lengths[1]).ToArray());
    }

    [Fact]
    public void Loader_loads_the_assemblies_and_starts_the_entry()
    {
        byte[] bundle = AppBundlePacker.Pack("BundleAppB.Entry", [new("BundleAppB.pe", TestApps.Build("BundleAppB", true))]);
        string? failure = new BundleLoader(new ListLog(_log)).LoadAndStart(SlotWith(bundle), out bool empty);
        Assert.Null(failure);
        Assert.False(empty);
        Assert.Contains(_log, l => l.Contains("entry BundleAppB.Entry started"));
    }

    [Fact]
    public void A_start_that_reports_failure_fails_the_self_test()
    {
        byte[] bundle = AppBundlePacker.Pack("BundleAppC.Entry", [new("BundleAppC.pe", TestApps.Build("BundleAppC", false))]);
        string? failure = new BundleLoader(new ListLog(_log)).LoadAndStart(SlotWith(bundle), out _);
        Assert.Equal("BundleAppC.Entry.Start() reported failure", failure);
    }

    [Fact]
    public void An_assembly_the_runtime_refuses_or_a_missing_entry_fails_with_the_reason()
    {
        byte[] junk = AppBundlePacker.Pack("X.Entry", [new("X.pe", new byte[300])]);
        Assert.StartsWith("the runtime refused X.pe", new BundleLoader(null!).LoadAndStart(SlotWith(junk), out _));
        byte[] wrongEntry = AppBundlePacker.Pack("Nope.Entry", [new("BundleAppD.pe", TestApps.Build("BundleAppD", true))]);
        Assert.Equal("no assembly of the bundle defines Nope.Entry", new BundleLoader(null!).LoadAndStart(SlotWith(wrongEntry), out _));
    }

    [Fact]
    public void An_empty_slot_is_reported_as_empty_not_broken()
    {
        var slot = new FilePartition(_dir.Path + "/", "slota", 4 * 4096, 4096);
        string? failure = new BundleLoader(null!).LoadAndStart(slot, out bool empty);
        Assert.True(empty);
        Assert.Contains("empty", failure);
    }

    [Fact]
    public void A_bundle_longer_than_its_slot_or_with_entries_outside_is_refused()
    {
        byte[] bundle = AppBundlePacker.Pack("BundleAppE.Entry", [new("BundleAppE.pe", TestApps.Build("BundleAppE", true))]);
        bundle[8] = 0xFF; bundle[9] = 0xFF; bundle[10] = 0xFF; // length field beyond the slot
        Assert.Null(AppBundle.Read(SlotWith(bundle), out string? why));
        Assert.Contains("larger than slot", why);
    }

    [Fact]
    public void Packer_refuses_what_a_board_could_not_read()
    {
        Assert.Throws<ArgumentException>(() => AppBundlePacker.Pack("Entry", []));
        Assert.Throws<ArgumentException>(() => AppBundlePacker.Pack("Entrée", [new("a.pe", [1])]));
        Assert.Throws<ArgumentException>(() => AppBundlePacker.Pack("E", [new("a.pe", [1]), new("A.pe", [2])]));
        var many = Enumerable.Range(0, 30).Select(i => new BundleAssembly(new string('n', 30) + i + ".pe", [1])).ToList();
        Assert.Contains("header", Assert.Throws<ArgumentException>(() => AppBundlePacker.Pack("E", many)).Message);
    }
}
