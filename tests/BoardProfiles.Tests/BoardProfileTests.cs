using System.Text.Json.Nodes;
using IotOta.BoardProfiles;

namespace IotOta.BoardProfiles.Tests;

public class BoardProfileTests
{
    private static string Json(string board) => File.ReadAllText(Path.Combine(BoardProfile.DefaultDirectory(), board + ".json"));

    private static string Mutate(string board, Action<JsonObject> change)
    {
        var o = JsonNode.Parse(Json(board))!.AsObject();
        change(o);
        return o.ToJsonString();
    }

    private static BoardProfileException Bad(Action<JsonObject> change)
        => Assert.Throws<BoardProfileException>(() => BoardProfile.Parse(Mutate("esp32-devkitc", change), "test"));

    [Fact]
    public void The_four_boards_load()
    {
        var all = BoardProfile.All();
        Assert.Equal(new[] { "esp32-c3", "esp32-devkitc", "esp32-psram", "esp32-s3-devkitc" }, all.Select(b => b.Name).ToArray());
        var devkit = BoardProfile.Named("esp32-devkitc");
        Assert.Equal("ESP32_REV0", devkit.NanoTarget);
        Assert.Equal(4 * 1024 * 1024, devkit.FlashSize);
        Assert.Equal(0, devkit.PsramBytes);
        Assert.Equal(SinkMode.Sequential, devkit.SinkMode);
        Assert.Equal(0xC0000, devkit.SlotSize);
        Assert.Equal(new[] { "deployment" }, devkit.UpdatableImages);
        Assert.Contains(devkit.Layouts["stock"], p => p.Name == "nanoclr" && p.Offset == 0x10000 && p.Size == 0x1D0000);
        Assert.Equal("ESP32_PSRAM_REV0", BoardProfile.Named("esp32-psram").NanoTarget);
        var s3 = BoardProfile.Named("esp32-s3-devkitc");
        Assert.Equal(8 * 1024 * 1024, s3.FlashSize);
        Assert.Contains("nanoClr", s3.UpdatableImages);
        Assert.Equal("ESP32_C3", BoardProfile.Named("esp32-c3").NanoTarget);
        foreach (var b in all) Assert.True(4 * b.MaxChunkSize <= b.CoreHeapBudget && b.CoreHeapBudget <= b.ManagedHeapBytes, b.Name);
    }

    [Fact]
    public void An_unknown_board_names_the_known_ones()
    {
        var e = Assert.Throws<BoardProfileException>(() => BoardProfile.Named("esp8266"));
        Assert.Contains("unknown board 'esp8266'", e.Message);
        Assert.Contains("esp32-devkitc", e.Message);
    }

    [Fact]
    public void Not_json_is_a_clear_error()
    {
        var e = Assert.Throws<BoardProfileException>(() => BoardProfile.Parse("{ nope", "x.json"));
        Assert.StartsWith("x.json: not a valid board profile", e.Message);
    }

    [Fact]
    public void A_file_whose_name_differs_from_its_board_is_refused()
    {
        string dir = Path.Combine(Path.GetTempPath(), "iotota-bp-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            File.WriteAllText(Path.Combine(dir, "other.json"), Json("esp32-c3"));
            var e = Assert.Throws<BoardProfileException>(() => BoardProfile.Named("other", dir));
            Assert.Contains("name: 'esp32-c3' does not match the file name 'other'", e.Message);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Missing_fields_unknown_fields_and_bad_enums_are_refused()
    {
        Assert.Contains("nanoTarget: missing", Bad(o => o.Remove("nanoTarget")).Message);
        Assert.Contains("flashSize: missing", Bad(o => o.Remove("flashSize")).Message);
        Assert.Contains("colour", Bad(o => o["colour"] = "red").Message);
        Assert.Contains("not a valid board profile", Bad(o => o["sinkMode"] = "sideways").Message);
    }

    [Fact]
    public void Chunk_size_must_fit_the_heap_budget()
    {
        Assert.Contains("too large for coreHeapBudget", Bad(o => o["maxChunkSize"] = 16384).Message);
        Assert.Contains("power of two", Bad(o => o["maxChunkSize"] = 3000).Message);
        Assert.Contains("at most managedHeapBytes", Bad(o => o["coreHeapBudget"] = 1_000_000).Message);
    }

    [Fact]
    public void Partitions_must_be_aligned_inside_the_flash_and_apart()
    {
        static JsonObject Part(JsonObject o, string layout, string name)
            => o["layouts"]![layout]!.AsArray().Select(n => n!.AsObject()).First(p => (string)p["name"]! == name);
        Assert.Contains("not aligned to the sector size", Bad(o => Part(o, "ifu", "iotota_state")["offset"] = "0x360100").Message);
        Assert.Contains("beyond the flash size", Bad(o => Part(o, "ifu", "iotota_boot")["size"] = "0x20000").Message);
        Assert.Contains("not 64 KiB-aligned", Bad(o => Part(o, "ifu", "deployment_secondary")["offset"] = "0x2A1000").Message);
        Assert.Contains("overlap", Bad(o => Part(o, "stock", "deployment")["size"] = "0x1D0000").Message);
        Assert.Contains("is not a hex", Bad(o => Part(o, "stock", "nvs")["size"] = "lots").Message);
    }

    [Fact]
    public void Roles_must_name_partitions_of_the_update_layout()
    {
        Assert.Contains("role 'staging' missing", Bad(o => o["roles"]!.AsObject().Remove("staging")).Message);
        Assert.Contains("'nanoclr' is not in layout 'ifu'", Bad(o => o["roles"]!["state"] = "nanoclr").Message);
        Assert.Contains("differ in size", Bad(o => o["roles"]!["slotB"] = "nanoclr_primary").Message);
        Assert.Contains("no layout named 'mcuboot'", Bad(o => o["updateLayout"] = "mcuboot").Message);
        Assert.Contains("not in updatableImages", Bad(o => o["updateImage"] = "nanoClr").Message);
        Assert.Contains("unknown image type 'spiffs'", Bad(o => o["updatableImages"] = new JsonArray("spiffs")).Message);
    }

    [Fact]
    public void A_random_offset_board_needs_no_staging_room()
    {
        string json = Mutate("esp32-devkitc", o =>
        {
            o["sinkMode"] = "randomOffset";
            o["layouts"]!["ifu"]!.AsArray().Select(n => n!.AsObject()).First(p => (string)p["name"]! == "iotota_staging")["size"] = "0x1000";
            o["maxChunkSize"] = 4096;
        });
        var b = BoardProfile.Parse(json, "test");
        Assert.Equal(SinkMode.RandomOffset, b.SinkMode);
        // the same with a sequential sink cannot hold one 4 KiB packet
        Assert.Contains("cannot hold one staged packet", Assert.Throws<BoardProfileException>(() => BoardProfile.Parse(json.Replace("\"randomOffset\"", "\"sequential\""), "test")).Message);
    }

    [Fact]
    public void Every_profile_says_where_its_heap_figures_come_from()
    {
        foreach (BoardProfile b in BoardProfile.All())
        {
            Assert.Contains("managedHeapBytes", b.HeapSource);
            Assert.Contains("coreHeapBudget", b.HeapSource);
        }
        Assert.Equal(16384, BoardProfile.Named("esp32-devkitc").CoreHeapBudget); // issue #17: the core fits a plain ESP32 in 16 KiB
    }
}
