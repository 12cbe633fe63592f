namespace IotOta.Gateway.Fleet;

/// <summary>
/// Coalesces membership changes into member-list publishes. Every publish of a group's list goes, retained, to every
/// member of the group through the broker's uplink, so publishing on every join costs O(n²) bytes per group while a
/// fleet comes online (about 41 MB for 1,000 devices in 9 groups — minutes of a 1 Mbit/s uplink, during which the
/// broker's CONNACKs to further devices queue behind the lists). A change is published once membership has been quiet
/// for <see cref="Settle"/>, and at the latest <see cref="MaxDelay"/> after the first change not yet published; a
/// change that comes while a publish runs is published after it. Time from the injected clock.
/// </summary>
public sealed class MemberListPacing : IDisposable
{
    private readonly TimeProvider _time;
    private readonly Func<Task> _publish;
    private readonly object _gate = new();
    private readonly CancellationTokenSource _cts = new();
    private long _firstPending, _lastChange;
    private bool _running;

    public MemberListPacing(TimeProvider time, Func<Task> publish)
    {
        _time = time;
        _publish = publish;
    }

    /// <summary>How long membership must stay unchanged before a change is published.</summary>
    public TimeSpan Settle { get; init; } = TimeSpan.FromMilliseconds(500);
    /// <summary>The longest a change waits while membership keeps changing.</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(3);
    /// <summary>Publishes made (one per quiet spell or per MaxDelay).</summary>
    public long Publishes { get; private set; }

    /// <summary>Membership changed: a publish follows within <see cref="MaxDelay"/>.</summary>
    public void Changed()
    {
        lock (_gate)
        {
            long now = _time.GetTimestamp();
            if (_firstPending == 0) _firstPending = now;
            _lastChange = now;
            if (_running) return;
            _running = true;
        }
        _ = Task.Run(RunAsync);
    }

    /// <summary>When the pending change is due (timestamp), or 0 when none is pending.</summary>
    private long Due()
    {
        if (_firstPending == 0) return 0;
        long settled = _lastChange + (long)(Settle.TotalSeconds * _time.TimestampFrequency);
        long latest = _firstPending + (long)(MaxDelay.TotalSeconds * _time.TimestampFrequency);
        return Math.Min(settled, latest);
    }

    private async Task RunAsync()
    {
        while (!_cts.IsCancellationRequested)
        {
            long due;
            lock (_gate)
            {
                due = Due();
                if (due == 0)
                {
                    _running = false;
                    return;
                }
            }
            TimeSpan wait = _time.GetElapsedTime(_time.GetTimestamp(), due);
            if (wait > TimeSpan.Zero)
            {
                try { await Task.Delay(wait, _time, _cts.Token).ConfigureAwait(false); }
                catch (OperationCanceledException) { break; }
                continue; // a change meanwhile may have moved the due time
            }
            lock (_gate) _firstPending = 0;
            try
            {
                await _publish().ConfigureAwait(false);
            }
            catch (Exception) when (!_cts.IsCancellationRequested)
            {
                // the publisher logs its own failures; the periodic refresh tries again
            }
            Publishes++;
        }
        lock (_gate) _running = false;
    }

    public void Dispose()
    {
        _cts.Cancel();
        _cts.Dispose();
    }
}
