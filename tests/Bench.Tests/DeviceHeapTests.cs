using IotOta.BoardProfiles;
using IotOta.DeviceHeap;
using Xunit;
using Xunit.Abstractions;

namespace IotOta.Bench.Tests;

/// <summary>
/// Issue #17 on the board it names first: the device core's peak heap in each phase (receive, install, boot after the
/// install) stays within esp32-devkitc's budget for an image that fills the slot, in 4 KiB packets as well as 2 KiB,
/// measured as bench/DeviceHeap measures it (the core's own managed ECDSA verifier counted, its scratch at the
/// moment of the check).
/// </summary>
public class DeviceHeapTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(4096)]
    [InlineData(2048)]
    public void Devkitc_core_peak_per_phase_fits_its_budget_for_a_slot_sized_image(int packetSize)
    {
        BoardProfile b = BoardProfile.Named("esp32-devkitc");
        string dir = Path.Combine(Path.GetTempPath(), "iotota-heaptest-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            HeapRun.Run(b, packetSize, 64 * 1024, dir); // one-time type initialisation, as the bench's warm-up
            HeapResult r = HeapRun.Run(b, packetSize, b.SlotSize, dir);
            output.WriteLine($"{b.Name} {packetSize} B packets, {r.ImageSize} B image: receive {r.Receive.Peak}, install {r.Install.Peak}, boot {r.Boot.Peak} of {r.Budget}; serving, next manifest {r.NextManifestPeak}; restart mid-download {r.ResumePeak}");
            Assert.True(r.Installed, r.Error);
            Assert.Equal(16384, r.Budget);
            Assert.True(r.Receive.Peak <= r.Budget, $"receive phase peak {r.Receive.Peak} B > budget {r.Budget} B");
            Assert.True(r.Install.Peak <= r.Budget, $"install phase peak {r.Install.Peak} B > budget {r.Budget} B");
            Assert.True(r.Boot.Peak <= r.Budget, $"boot phase peak {r.Boot.Peak} B > budget {r.Budget} B");
            // the worst moments outside the three phases: the next manifest at a serving device, a restart mid-download
            Assert.True(r.NextManifestPeak <= r.Budget, $"serving device, next manifest: peak {r.NextManifestPeak} B > budget {r.Budget} B");
            Assert.True(r.ResumePeak <= r.Budget, $"restart mid-download: peak {r.ResumePeak} B > budget {r.Budget} B");
            Assert.Equal(0.0, r.BytesPerPacket);
        }
        finally
        {
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }
}
