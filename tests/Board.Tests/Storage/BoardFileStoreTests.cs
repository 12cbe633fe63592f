using IotOta.BoardProfiles;

namespace IotOta.Board.Tests.Storage;

/// <summary>boards/*.json "fileStore": the board program's storage on stock nanoFramework fits the littlefs partition,
/// and the board program's defaults are the profile's.</summary>
public sealed class BoardFileStoreTests
{
    [Fact]
    public void Every_profile_has_a_file_store_that_fits_its_littlefs_partition()
    {
        var all = BoardProfile.All();
        Assert.NotEmpty(all);
        foreach (var b in all)
        {
            Assert.NotNull(b.FileStore);
            var fs = b.FileStore!;
            Assert.Equal("config", fs.Partition);
            Assert.Equal(256 * 1024, fs.PartitionBytes); // nf-interpreter partitions_nanoclr_4mb.csv: config 0x40000
            Assert.True(fs.UsedBytes <= fs.PartitionBytes, $"{b.Name}: {fs.UsedBytes} > {fs.PartitionBytes}");
            // a bundle of the slot's size still goes out in whole chunks the board accepts
            Assert.True(fs.SlotBytes / b.MaxChunkSize >= 10, $"{b.Name}: slot of {fs.SlotBytes} bytes is fewer than 10 chunks");
        }
    }

    [Fact]
    public void Board_program_defaults_are_the_devkitc_file_store()
    {
        var fs = BoardProfile.Named("esp32-devkitc").FileStore!;
        var s = new BoardSettings();
        Assert.Equal((fs.SlotBytes, fs.StateBytes, fs.BootBytes), (s.SlotBytes, s.StateBytes, s.BootBytes));
    }

    [Theory]
    [InlineData("\"partition\": \"config\", \"slotBytes\": 131072, \"stateBytes\": 16384, \"bootBytes\": 8192, \"reserveBytes\": 0", "exceeds partition 'config'")]
    [InlineData("\"partition\": \"nvs\", \"slotBytes\": 4096, \"stateBytes\": 8192, \"bootBytes\": 8192, \"reserveBytes\": 0", "is data, not littlefs")]
    [InlineData("\"partition\": \"config\", \"slotBytes\": 5000, \"stateBytes\": 8192, \"bootBytes\": 8192, \"reserveBytes\": 0", "fileStore.slotBytes")]
    [InlineData("\"partition\": \"config\", \"slotBytes\": 4096, \"stateBytes\": 8192, \"bootBytes\": 4096, \"reserveBytes\": 0", "fileStore.bootBytes")]
    public void A_file_store_that_cannot_work_is_refused_naming_the_field(string store, string expected)
    {
        string dir = Path.Combine(AppContext.BaseDirectory, "boards");
        string json = File.ReadAllText(Path.Combine(dir, "esp32-devkitc.json"));
        int at = json.IndexOf("\"fileStore\"", StringComparison.Ordinal);
        string broken = json[..at] + "\"fileStore\": {" + store + "}\n}";
        var e = Assert.Throws<BoardProfileException>(() => BoardProfile.Parse(broken, "esp32-devkitc.json"));
        Assert.Contains(expected, e.Message);
    }
}
