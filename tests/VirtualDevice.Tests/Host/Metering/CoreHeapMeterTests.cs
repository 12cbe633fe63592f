using IotOta.VirtualDevice.Host.Metering;

namespace IotOta.VirtualDevice.Tests.Host.Metering;

/// <summary>The core heap meter's phases: receive, install and the boot after it are measured and budgeted apart.</summary>
public class CoreHeapMeterTests
{
    private static long Allocate(CoreHeapMeter m, int bytes, Func<long, long> end)
    {
        long mark = CoreHeapMeter.Begin();
        GC.KeepAlive(new byte[bytes]);
        return end(mark);
    }

    [Fact]
    public void Each_phase_has_its_own_peak_and_a_reboot_after_an_install_starts_the_boot_phase()
    {
        var m = new CoreHeapMeter("d1", 0);
        Allocate(m, 4000, mk => m.EndBoot(mk));                        // boot: kept
        Allocate(m, 2000, mk => m.End(mk, retained: true));            // a manifest: kept, receive phase
        Allocate(m, 500, mk => m.End(mk, retained: false));            // a packet: garbage
        Assert.Equal(HeapPhase.Receive, m.Phase);
        long receive = m.PhasePeakBytes(HeapPhase.Receive);
        Assert.InRange(receive, 6500, 6800);
        Allocate(m, 3000, mk => m.EndInstall(mk));                      // the install call
        long install = m.PhasePeakBytes(HeapPhase.Install);
        Assert.InRange(install, 9000, 9300);
        Assert.Equal(receive, m.PhasePeakBytes(HeapPhase.Receive));     // the install does not count as receiving

        m.Reboot(afterInstall: true);
        Assert.Equal(HeapPhase.AfterInstall, m.Phase);
        Assert.Equal(0, m.RetainedBytes);
        Allocate(m, 1000, mk => m.EndBoot(mk));
        Allocate(m, 200, mk => m.End(mk, retained: false));
        Assert.InRange(m.PhasePeakBytes(HeapPhase.AfterInstall), 1200, 1400);
        Assert.Equal(install, m.MaxPeakBytes);
        Allocate(m, 100, mk => m.End(mk, retained: true));              // the next image: receiving again
        Assert.Equal(HeapPhase.Receive, m.Phase);
        Assert.False(m.Exceeded);
    }

    [Fact]
    public void The_budget_applies_to_each_phase_and_the_failure_names_it()
    {
        var m = new CoreHeapMeter("d2", 5000);
        Allocate(m, 3000, mk => m.EndBoot(mk));
        Allocate(m, 1000, mk => m.End(mk, retained: false));
        Assert.False(m.Exceeded);
        Allocate(m, 2500, mk => m.EndInstall(mk));
        Assert.True(m.Exceeded);
        Assert.Contains("install phase", m.Failure);
        Assert.Contains("5000", m.Failure);
    }
}
