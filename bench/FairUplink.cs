namespace IotOta.Bench;

/// <summary>
/// A shared link that serves its flows the way a router's default queue discipline (Linux fq_codel: deficit round
/// robin with a new-flow list) does, at a fixed rate: every connection that has bytes to send is a flow; a flow that
/// was idle goes to the new-flow list, served before the flows that keep the link busy, and every flow gets at most
/// one quantum (one Ethernet frame) per turn. So a small packet to an idle connection (CONNACK, PINGRESP, a receipt
/// notice's answer) waits behind at most a few frames, not behind megabytes of other connections' data — with one
/// first-come queue a busy uplink held keep-alive answers past the clients' 5 s timeout and 1,000 devices dropped
/// off in whole groups. No credit for idle time: nothing passes faster than the rate (the Kumar–Ross bound holds).
/// </summary>
public sealed class FairUplink : IDisposable
{
    /// <summary>Bytes a flow may send per turn: one Ethernet frame.</summary>
    public const int Quantum = 1514;

    private readonly object _gate = new();
    private readonly LinkedList<Flow> _new = new(), _old = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly CancellationTokenSource _cts = new();
    private readonly Task _loop;
    private readonly double _bytesPerSecond;

    public sealed class Flow
    {
        internal readonly Queue<Request> Requests = new();
        internal bool Active;
    }

    public FairUplink(double bytesPerSecond)
    {
        if (!(bytesPerSecond > 0) || double.IsInfinity(bytesPerSecond)) throw new ArgumentOutOfRangeException(nameof(bytesPerSecond));
        _bytesPerSecond = bytesPerSecond;
        _loop = Task.Run(ServeAsync);
    }

    internal sealed class Request(int left, TaskCompletionSource done)
    {
        public int Left = left;
        public readonly TaskCompletionSource Done = done;
    }

    public Flow NewFlow() => new();

    /// <summary>Completes when <paramref name="bytes"/> of this flow have passed the link.</summary>
    public Task SendAsync(Flow flow, int bytes)
    {
        if (bytes <= 0) return Task.CompletedTask;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        bool wake = false;
        lock (_gate)
        {
            flow.Requests.Enqueue(new Request(bytes, done));
            if (!flow.Active)
            {
                flow.Active = true;
                _new.AddLast(flow);
                wake = true;
            }
        }
        if (wake) _wake.Release();
        return done.Task;
    }

    private async Task ServeAsync()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        double next = 0; // seconds on the clock when the link is free again
        while (!_cts.IsCancellationRequested)
        {
            Flow? flow;
            int grant = 0;
            TaskCompletionSource? finished = null;
            lock (_gate)
            {
                flow = _new.First?.Value ?? _old.First?.Value;
                if (flow != null)
                {
                    if (_new.First?.Value == flow) _new.RemoveFirst();
                    else _old.RemoveFirst();
                    Request head = flow.Requests.Peek();
                    grant = Math.Min(head.Left, Quantum);
                    head.Left -= grant;
                    if (head.Left == 0)
                    {
                        flow.Requests.Dequeue();
                        finished = head.Done;
                    }
                    if (flow.Requests.Count > 0) _old.AddLast(flow);
                    else flow.Active = false;
                }
            }
            if (flow == null)
            {
                try { await _wake.WaitAsync(_cts.Token).ConfigureAwait(false); }
                catch (OperationCanceledException) { return; }
                continue;
            }
            double now = clock.Elapsed.TotalSeconds;
            next = Math.Max(next, now) + grant / _bytesPerSecond; // an idle link gets no credit
            double wait = next - now;
            if (wait > 0.002)
            {
                try { await Task.Delay(TimeSpan.FromSeconds(wait), _cts.Token).ConfigureAwait(false); }
                catch (OperationCanceledException) { return; }
            }
            finished?.TrySetResult();
        }
    }

    public void Dispose()
    {
        _cts.Cancel();
        try { _loop.Wait(TimeSpan.FromSeconds(2)); } catch (AggregateException) { }
        _cts.Dispose();
        lock (_gate)
        {
            foreach (var f in _new.Concat(_old))
                while (f.Requests.Count > 0) f.Requests.Dequeue().Done.TrySetCanceled();
        }
    }
}
