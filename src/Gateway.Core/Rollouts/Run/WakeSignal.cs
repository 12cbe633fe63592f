namespace IotOta.Gateway.Rollouts.Run;

/// <summary>
/// Wakes the run loop when something happened (a notice, a report, a repair request, a pause): each
/// <see cref="Set"/> lets one <see cref="WaitAsync"/> pass (they count, like a semaphore), and a wait ends at its timeout
/// on the injected clock. Thread-safe.
/// </summary>
internal sealed class WakeSignal(TimeProvider time)
{
    private readonly object _gate = new();
    private int _count;
    private TaskCompletionSource? _waiter;

    public void Set()
    {
        TaskCompletionSource? w;
        lock (_gate)
        {
            w = _waiter;
            _waiter = null;
            if (w == null) _count++;
        }
        w?.TrySetResult();
    }

    /// <summary>Returns at once when set since the last wait, else when set or after the timeout.</summary>
    public async Task WaitAsync(TimeSpan timeout, CancellationToken ct)
    {
        TaskCompletionSource tcs;
        lock (_gate)
        {
            if (_count > 0)
            {
                _count--;
                return;
            }
            tcs = _waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var delay = Task.Delay(timeout, time, stop.Token);
        await Task.WhenAny(tcs.Task, delay).ConfigureAwait(false);
        stop.Cancel();
        lock (_gate)
        {
            if (_waiter == tcs) _waiter = null;
        }
        ct.ThrowIfCancellationRequested();
    }
}
