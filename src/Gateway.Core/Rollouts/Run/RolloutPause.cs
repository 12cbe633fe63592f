namespace IotOta.Gateway.Rollouts.Run;

/// <summary>Whether a rollout is paused, why (the health gate's reason; null when the operator paused it), and how long
/// it was paused in all (time paused does not count toward the timeout). Thread-safe.</summary>
internal sealed class RolloutPause(TimeProvider time)
{
    private readonly object _gate = new();
    private volatile bool _paused;
    private volatile string? _reason;
    private long _since, _ticks;

    public bool IsPaused => _paused;
    public string? Reason => _reason;

    /// <summary>False when already paused.</summary>
    public bool Pause(string? reason = null)
    {
        lock (_gate)
        {
            if (_paused) return false;
            _since = time.GetTimestamp();
            _paused = true;
            _reason = reason;
        }
        return true;
    }

    /// <summary>False when not paused.</summary>
    public bool Resume()
    {
        lock (_gate)
        {
            if (!_paused) return false;
            _ticks += time.GetTimestamp() - _since;
            _paused = false;
            _reason = null;
        }
        return true;
    }

    public TimeSpan Total()
    {
        lock (_gate)
        {
            long ticks = _ticks + (_paused ? time.GetTimestamp() - _since : 0);
            return TimeSpan.FromSeconds((double)ticks / time.TimestampFrequency);
        }
    }
}
