namespace IotOta.Gateway.Scheduling;

/// <summary>
/// Late behind a queue is not lost. When every device's uplink is busy with its group's copies, the fleet works its
/// deliveries off one after the other: at N = 1,000 in 9 groups (100 kbit/s uplinks) the deliveries planned in the
/// first seconds were noticed from 1.3 s to 28 s after planning, in a steady stream. The notice timer's mean lateness
/// follows that trend from behind and its deviation stays small (17–19 s and 0.1–0.3 s when the deadlines passed),
/// so deliveries still in the queue timed out and went out again (88–192 of 576, 1.5 × image from the gateway). A
/// deadline that passes while notices still come and deliveries planned before this one are still out waits for
/// them: as long as those take at the rate notices came in the last <see cref="SchedulerOptions.NoticeRateWindow"/>
/// (planned before or with it; at most one window at a time). It is judged again then, with fewer ahead; once none is
/// ahead, or no notice came in the window, it is planned again as before. A device that left is not waited for (departures are handled apart), and a delivery that no
/// notice can end (a fleet that went silent) is not either: no notices, no waiting.
/// </summary>
public sealed partial class RolloutScheduler
{
    /// <summary>When the notices of the last <see cref="SchedulerOptions.NoticeRateWindow"/> came (timestamps, oldest first).</summary>
    private readonly Queue<long> _recentNotices = new();

    /// <summary>Deadlines that passed while the delivery waited behind others and were moved (see the type's summary).</summary>
    public long QueueWaits { get; private set; }

    /// <summary>Under the gate: a notice ended an in-flight delivery now.</summary>
    private void CountNotice(long now)
    {
        _recentNotices.Enqueue(now);
        ForgetOldNotices(now);
    }

    private void ForgetOldNotices(long now)
    {
        long window = (long)(_options.NoticeRateWindow.TotalSeconds * _time.TimestampFrequency);
        while (_recentNotices.TryPeek(out long t) && now - t > window) _recentNotices.Dequeue();
    }

    /// <summary>Under the gate: the time until which delivery (g, k), past its deadline, waits for the deliveries
    /// planned before it that are still out; 0 when it should be planned again now.</summary>
    private long QueuedUntil(GroupPlan g, int k, long now)
    {
        if (_options.NoticeRateWindow <= TimeSpan.Zero) return 0;
        ForgetOldNotices(now);
        if (_recentNotices.Count == 0) return 0;
        long planned = g.Planned[k];
        int ahead = 0;
        foreach (GroupPlan h in _groups.Values)
        {
            if (!h.Live) continue;
            for (int j = 0; j < _chunkCount; j++)
                if (h.Status[j] == InFlight && h.Planned[j] <= planned && (h != g || j != k) && _members.ContainsKey(h.Owner[j])) ahead++;
        }
        if (ahead == 0) return 0;
        double perSecond = _recentNotices.Count / _options.NoticeRateWindow.TotalSeconds;
        // judged again at the latest one window on: a fleet whose notices stopped is not waited for longer than that
        double seconds = Math.Clamp(ahead / perSecond, _options.MinQueueWait.TotalSeconds, _options.NoticeRateWindow.TotalSeconds);
        return now + (long)(seconds * _time.TimestampFrequency);
    }
}
