using IotOta.DeviceFirmware.Tests.Support;
using IotOta.Shared.Protocol;
using static IotOta.DeviceFirmware.Tests.Support.Images;

namespace IotOta.DeviceFirmware.Tests.Agent;

/// <summary>When progress reports go (StatusReporter): a report for changes waits ProgressIntervalMs from the first
/// unreported packet, not from the last report, so a device whose packets all come within one interval sends none
/// between accepting the image and installing it (issue #15: at N = 1,000 the report at a device's first data packet,
/// long after its list-complete report, was ~20 KB at the broker).</summary>
public class DeviceAgentProgressReportTests
{
    private static (DeviceHarness d, IotOta.Gateway.Images.FirmwareImage img, int interval) Receiving()
    {
        var d = new DeviceHarness(nodeId: 1, groupId: 1);
        d.Members(1, 1, 2, 3, 4);
        var img = Create(V(1, 1, 0));
        d.Manifest(img);
        d.Agent.Tick(); // the report that it accepted the image
        return (d, img, new IotOta.DeviceFirmware.Agent.DeviceConfig().ProgressIntervalMs);
    }

    private static int Reports(DeviceHarness d) => d.Out(MessageType.ProgressReport).Count;

    [Fact]
    public void A_first_packet_long_after_the_last_report_is_reported_one_interval_later_not_at_once()
    {
        var (d, img, interval) = Receiving();
        using var _ = d;
        int accepted = Reports(d);
        Assert.True(accepted >= 1);
        d.Clock.Advance(3 * interval); // the list-complete report was long ago
        d.Original(img, 0);
        d.PumpAll();
        d.Agent.Tick();
        Assert.Equal(accepted, Reports(d));
        d.Clock.Advance(interval - 1);
        d.Original(img, 1);
        d.PumpAll();
        d.Agent.Tick();
        Assert.Equal(accepted, Reports(d));
        d.Clock.Advance(1);
        d.Agent.Tick();
        Assert.Equal(accepted + 1, Reports(d));
        var r = new ProgressReport();
        byte[] last = d.Out(MessageType.ProgressReport).Last();
        r.Parse(last, 0, last.Length);
        Assert.Equal(2, r.HeldCount);
    }

    [Fact]
    public void Packets_arriving_steadily_are_reported_once_per_interval()
    {
        var (d, img, interval) = Receiving();
        using var _ = d;
        int accepted = Reports(d);
        int step = interval / 4;
        for (int i = 0; i < 9; i++) // 9 packets over two intervals and a quarter
        {
            d.Original(img, i);
            d.PumpAll();
            d.Agent.Tick();
            d.Clock.Advance(step);
            d.Agent.Tick();
        }
        Assert.Equal(accepted + 2, Reports(d));
    }

    [Fact]
    public void Nothing_new_nothing_reported()
    {
        var (d, _, interval) = Receiving();
        using var __ = d;
        int accepted = Reports(d);
        d.Clock.Advance(5 * interval);
        d.Agent.Tick();
        Assert.Equal(accepted, Reports(d));
    }
}
