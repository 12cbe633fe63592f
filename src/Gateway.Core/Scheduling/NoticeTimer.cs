namespace IotOta.Gateway.Scheduling;

/// <summary>
/// How late receipt notices come against what the scheduler expected, smoothed like TCP's retransmission timer
/// (RFC 6298: SRTT and RTTVAR with gains 1/8 and 1/4): each noticed delivery gives one sample, its notice's lateness
/// (time from planning to notice minus the expected finish). A delivery's deadline is its expected finish plus the
/// smoothed lateness plus four deviations (and never less than the scheduler's floor), so when the host or a Wi-Fi cell
/// is slow every notice comes late, the deadlines grow with them, and late work is waited for instead of being planned
/// again into a storm. Only deliveries noticed by the device they were planned for count (Karn's rule: a delivery
/// planned again says nothing about how late the first try was). A delivery planned again after a deadline that passed
/// with no sample at all since it was planned backs the timer off (RFC 6298 5.5: the timeout doubles, up to
/// <see cref="MaxBackoff"/>): every device's queue may be longer than the timer knows (at the start of a rollout it
/// knows nothing), so the deliveries planned as early wait longer instead of all being planned again; the next sample
/// ends the back-off (5.7). Not thread-safe: the scheduler calls it under its lock.
/// </summary>
public sealed class NoticeTimer
{
    private const double Gain = 1.0 / 8, DeviationGain = 1.0 / 4, DeviationFactor = 4;
    private bool _measured;

    /// <summary>Smoothed lateness of notices in seconds (negative: they came early), 0 before any sample.</summary>
    public double MeanLatenessSeconds { get; private set; }
    /// <summary>Smoothed mean deviation of the lateness in seconds.</summary>
    public double DeviationSeconds { get; private set; }
    public long Samples { get; private set; }

    /// <summary>The factor timeouts are multiplied by after timeouts without a sample since: 1, 2, 4 … <see cref="MaxBackoff"/>.</summary>
    public int Backoff { get; private set; } = 1;

    /// <summary>The largest back-off: a delivery never waits more than this many times its plain timeout.</summary>
    public const int MaxBackoff = 8;

    /// <summary>A delivery with no sample since it was planned timed out: timeouts double (up to <see cref="MaxBackoff"/>).</summary>
    public void TimedOut()
    {
        if (Backoff < MaxBackoff) Backoff *= 2;
    }

    /// <summary>A delivery expected to take <paramref name="expectedSeconds"/> was noticed after <paramref name="tookSeconds"/>.</summary>
    public void Observe(double expectedSeconds, double tookSeconds)
    {
        if (!double.IsFinite(expectedSeconds) || !double.IsFinite(tookSeconds)) return;
        double late = tookSeconds - expectedSeconds;
        if (!_measured)
        {
            MeanLatenessSeconds = late;
            DeviationSeconds = Math.Abs(late) / 2;
            _measured = true;
        }
        else
        {
            DeviationSeconds += DeviationGain * (Math.Abs(late - MeanLatenessSeconds) - DeviationSeconds);
            MeanLatenessSeconds += Gain * (late - MeanLatenessSeconds);
        }
        Samples++;
        Backoff = 1;
    }

    /// <summary>Seconds to wait for a delivery expected to finish in <paramref name="expectedSeconds"/>: at least
    /// <paramref name="floorSeconds"/> and the old rule's <paramref name="multiple"/> × expected, and at least the
    /// expected finish plus the smoothed lateness plus four deviations; all of it times the back-off.</summary>
    public double TimeoutSeconds(double expectedSeconds, double floorSeconds, double multiple = 4)
    {
        double byMultiple = multiple * expectedSeconds;
        double byLateness = expectedSeconds + Math.Max(0, MeanLatenessSeconds) + DeviationFactor * DeviationSeconds;
        return Backoff * Math.Max(floorSeconds, Math.Max(byMultiple, _measured ? byLateness : 0));
    }
}
