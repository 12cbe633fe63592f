namespace IotOta.Gateway.Rollouts;

/// <summary>
/// A rollout's window on the wall clock: it opens when the last phase starts and ends <see cref="Rollout.WindowSeconds"/>
/// later (<see cref="Rollout.WindowEndsAt"/>, the deadline of pending devices); time spent paused does not count (as
/// in the engine), so resuming moves the end back by the pause. The end is stored with the rollout: a gateway that
/// restarts mid-rollout runs the last phase until that instant, not for a new window. Callers hold the rollout's gate.
/// </summary>
internal static class WindowDeadline
{
    /// <summary>The last phase starts: the window opens now, unless it opened before (a resumed rollout).</summary>
    public static void Open(Rollout r, DateTimeOffset now)
    {
        r.WindowEndsAt ??= now + TimeSpan.FromSeconds(r.WindowSeconds) + (r.PausedAt is { } since && now > since ? now - since : TimeSpan.Zero);
    }

    /// <summary>The rollout runs again after a pause: an open window ends that much later.</summary>
    public static void Unpause(Rollout r, DateTimeOffset now)
    {
        if (r.PausedAt is { } since && r.WindowEndsAt is { } end && now > since) r.WindowEndsAt = end + (now - since);
        r.PausedAt = null;
    }

    /// <summary>What is left of the window for the last phase's run (zero once it ended; while the rollout is paused,
    /// the pause so far does not count).</summary>
    public static TimeSpan Remaining(Rollout r, DateTimeOffset now)
    {
        if (r.WindowEndsAt is not { } end) return TimeSpan.FromSeconds(r.WindowSeconds);
        if (r.PausedAt is { } since && now > since) end += now - since;
        return end > now ? end - now : TimeSpan.Zero;
    }
}
