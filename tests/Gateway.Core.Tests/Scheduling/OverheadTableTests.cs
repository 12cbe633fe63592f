using IotOta.Gateway.Scheduling;
using IotOta.Shared.Protocol;
using Microsoft.Extensions.Time.Testing;

namespace IotOta.Gateway.Core.Tests.Scheduling;

public class OverheadTableTests
{
    private const int Chunk = 1000;
    private readonly FakeTimeProvider _clock = new();

    private static ReceiptNotice Notice(uint node, int index, long receiveMs, long forwardedMs, int copies) => new()
    {
        NodeId = node, ImageId = 7, Index = index, Kind = ReceiptNotice.KindOriginal,
        ReceiveTimeMs = receiveMs, ForwardedTimeMs = forwardedMs, CopiesSent = copies,
    };

    [Fact]
    public void OverheadIsNoticeArrivalMinusSendTime()
    {
        var t = new OverheadTable(_clock);
        t.RegisterSend(1, 0);
        _clock.Advance(TimeSpan.FromMilliseconds(100));
        DeviceOverhead? d = t.RegisterNotice(Notice(1, 0, 50_000, 50_040, 4), Chunk);
        Assert.NotNull(d);
        Assert.Equal(100, d!.OverheadMs, 6);
        Assert.Equal(100, d.LastOverheadMs, 6);
        Assert.Equal(1, d.Notices);
        // 4 copies × 1000 bytes in 40 ms of the device's clock.
        Assert.Equal(100_000, d.ForwardBytesPerSecond, 6);
        Assert.Equal(100_000, t.ForwardRate(1), 6);
        // Arrival = overhead − forwarding time on the device = 100 − 40.
        Assert.Equal(60, d.ArrivalMs, 6);
        Assert.Equal(60, t.ArrivalMs(1), 6);
    }

    [Fact]
    public void OverheadIsSmoothedWithEwma()
    {
        var t = new OverheadTable(_clock); // alpha 0.3
        t.RegisterSend(1, 0);
        _clock.Advance(TimeSpan.FromMilliseconds(100));
        t.RegisterNotice(Notice(1, 0, 1000, 1010, 1), Chunk);
        t.RegisterSend(1, 1);
        _clock.Advance(TimeSpan.FromMilliseconds(200));
        var d = t.RegisterNotice(Notice(1, 1, 2000, 2010, 1), Chunk)!;
        Assert.Equal(130, d.OverheadMs, 6);      // 100 + 0.3·(200 − 100)
        Assert.Equal(200, d.LastOverheadMs, 6);
        Assert.Equal(90 + 0.3 * (190 - 90), d.ArrivalMs, 6);
        Assert.Equal(2, d.Notices);
    }

    [Fact]
    public void CustomAlphaIsUsed()
    {
        var t = new OverheadTable(_clock, alpha: 0.5);
        t.RegisterSend(1, 0);
        _clock.Advance(TimeSpan.FromMilliseconds(100));
        t.RegisterNotice(Notice(1, 0, 0, 10, 1), Chunk);              // rate 100 000
        t.RegisterSend(1, 1);
        _clock.Advance(TimeSpan.FromMilliseconds(300));
        var d = t.RegisterNotice(Notice(1, 1, 1000, 1020, 1), Chunk)!;
        Assert.Equal(200, d.OverheadMs, 6);
        // The rate is not smoothed with alpha: it is all copy bytes over all busy time, 2000 B / 30 ms.
        Assert.Equal(2000 * 1000.0 / 30, d.ForwardBytesPerSecond, 6);
    }

    [Fact]
    public void A_notice_ending_before_the_last_one_is_a_device_clock_that_started_again()
    {
        var t = new OverheadTable(_clock);
        t.RegisterSend(1, 0);
        t.RegisterNotice(Notice(1, 0, 9_000_000, 9_000_040, 4), Chunk); // 4000 B in 40 ms
        t.RegisterSend(1, 1);
        // restarted (an install): its clock is back near 0; the job took 20 ms for 4000 B, not 1 ms
        var d = t.RegisterNotice(Notice(1, 1, 1_000, 1_020, 4), Chunk)!;
        Assert.Equal(8000 * 1000.0 / 60, d.ForwardBytesPerSecond, 6);
    }

    [Fact]
    public void BackToBackNoticesMeasureServiceFromPreviousForwardDone()
    {
        var t = new OverheadTable(_clock);
        t.RegisterSend(1, 0);
        t.RegisterSend(1, 1);
        _clock.Advance(TimeSpan.FromMilliseconds(50));
        t.RegisterNotice(Notice(1, 0, 1000, 1040, 4), Chunk); // 4000 B in 40 ms
        _clock.Advance(TimeSpan.FromMilliseconds(40));
        // Received at 1010 while still forwarding packet 0: its own forwarding ran 1040..1080, i.e. 40 ms, not 70.
        var d = t.RegisterNotice(Notice(1, 1, 1010, 1080, 4), Chunk)!;
        Assert.Equal(100_000, d.ForwardBytesPerSecond, 6);
    }

    [Fact]
    public void IdleGapBetweenNoticesIsNotCountedAsService()
    {
        var t = new OverheadTable(_clock);
        t.RegisterSend(1, 0);
        t.RegisterSend(1, 1);
        t.RegisterNotice(Notice(1, 0, 1000, 1040, 4), Chunk);
        // Received long after the previous one finished: service starts at its own receive time.
        var d = t.RegisterNotice(Notice(1, 1, 5000, 5020, 4), Chunk)!;
        Assert.Equal(8000 * 1000.0 / 60, d.ForwardBytesPerSecond, 6); // 8000 B over 40 + 20 ms busy
    }

    [Fact]
    public void NoticeWithoutRegisteredSendIsIgnored()
    {
        var t = new OverheadTable(_clock);
        int raised = 0;
        t.Updated += _ => raised++;
        Assert.Null(t.RegisterNotice(Notice(9, 3, 0, 10, 1), Chunk));
        Assert.Null(t.Get(9));
        Assert.True(double.IsNaN(t.ForwardRate(9)));
        Assert.Equal(0, t.ArrivalMs(9));
        Assert.Empty(t.Snapshot());
        Assert.Equal(0, raised);

        // The send for a different index or node does not match either.
        t.RegisterSend(9, 4);
        t.RegisterSend(8, 3);
        Assert.Null(t.RegisterNotice(Notice(9, 3, 0, 10, 1), Chunk));
    }

    [Fact]
    public void SecondNoticeForTheSameSendIsIgnored()
    {
        var t = new OverheadTable(_clock);
        t.RegisterSend(1, 0);
        Assert.NotNull(t.RegisterNotice(Notice(1, 0, 0, 10, 1), Chunk));
        Assert.Null(t.RegisterNotice(Notice(1, 0, 0, 10, 1), Chunk));
        Assert.Equal(1, t.Get(1)!.Notices);
    }

    [Fact]
    public void ForgetSendsDropsPendingSendsOfThatDeviceOnly()
    {
        var t = new OverheadTable(_clock);
        t.RegisterSend(1, 0);
        t.RegisterSend(2, 0);
        t.ForgetSends(1);
        Assert.Null(t.RegisterNotice(Notice(1, 0, 0, 10, 1), Chunk));
        Assert.NotNull(t.RegisterNotice(Notice(2, 0, 0, 10, 1), Chunk));
    }

    [Fact]
    public void NoticeWithoutCopiesLeavesRateUnmeasured()
    {
        var t = new OverheadTable(_clock);
        t.RegisterSend(1, 0);
        _clock.Advance(TimeSpan.FromMilliseconds(30));
        var d = t.RegisterNotice(Notice(1, 0, 0, 0, 0), Chunk)!;
        Assert.True(double.IsNaN(t.ForwardRate(1)));
        Assert.Equal(0, d.ForwardBytesPerSecond);
        Assert.Equal(30, d.OverheadMs, 6);
        Assert.Equal(30, d.ArrivalMs, 6);
    }

    [Fact]
    public void UpdatedIsRaisedAndSnapshotIsOrderedByNode()
    {
        var t = new OverheadTable(_clock);
        var seen = new List<uint>();
        t.Updated += d => seen.Add(d.NodeId);
        t.RegisterSend(5, 0);
        t.RegisterSend(2, 0);
        t.RegisterNotice(Notice(5, 0, 0, 10, 1), Chunk);
        t.RegisterNotice(Notice(2, 0, 0, 10, 1), Chunk);
        Assert.Equal([5u, 2u], seen);
        Assert.Equal([2u, 5u], t.Snapshot().Select(d => d.NodeId));
    }

    [Fact]
    public void RelayNoticeMeasuresRateButNotTheWayThere()
    {
        var t = new OverheadTable(_clock);
        t.RegisterSend(1, 0);
        _clock.Advance(TimeSpan.FromMilliseconds(20));
        t.RegisterNotice(Notice(1, 0, 0, 10, 1), Chunk); // original: overhead 20, arrival 10
        t.RegisterSend(1, 1);
        _clock.Advance(TimeSpan.FromMilliseconds(500)); // the relay copy waited on its root device
        var relay = Notice(1, 1, 1000, 1020, 2);
        relay.Kind = ReceiptNotice.KindRelay;
        var d = t.RegisterNotice(relay, Chunk)!;
        Assert.Equal(20, d.OverheadMs, 6);
        Assert.Equal(10, d.ArrivalMs, 6);
        Assert.Equal(500, d.LastOverheadMs, 6);
        Assert.Equal(3000 * 1000.0 / 30, d.ForwardBytesPerSecond, 6);
        Assert.Equal(2, d.Notices);
    }
}
