namespace IotOta.Gateway.Scheduling;

/// <summary>
/// How late receipt notices come against what the scheduler expected, smoothed like TCP's retransmission timer
/// (RFC 6298: SRTT and RTTVAR with gains 1/8 and 1/4): each noticed delivery gives one sample, its notice's lateness
/// (time from planning to notice minus the expected finish). A delivery's deadline is its expected finish plus the
/// smoothed lateness plus four deviations (and never less than the scheduler's floor), so when the host or a Wi-Fi cell
/// is slow every notice comes late, the deadlines grow with them, and late work is waited for instead of being planned
/// again into a storm. Only deliveries noticed by the device they were planned for count (Karn's rule: a delivery
/// planned again says nothing about how late the first try was). Not thread-safe: the scheduler calls it under its lock.
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
    }

    /// <summary>Seconds to wait for a delivery expected to finish in <paramref name="expectedSeconds"/>: at least
    /// <paramref name="floorSeconds"/> and the old rule's <paramref name="multiple"/> × expected, and at least the
    /// expected finish plus the smoothed lateness plus four deviations.</summary>
    public double TimeoutSeconds(double expectedSeconds, double floorSeconds, double multiple = 4)
    {
        double byMultiple = multiple * expectedSeconds;
        double byLateness = expectedSeconds + Math.Max(0, MeanLatenessSeconds) + DeviationFactor * DeviationSeconds;
        return Math.Max(floorSeconds, Math.Max(byMultiple, _measured ? byLateness : 0));
    }
}
