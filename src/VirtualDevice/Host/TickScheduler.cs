namespace IotOta.VirtualDevice.Host;

/// <summary>
/// Runs every virtual device's 50 ms tick on a few shared threads instead of one thread per device: a fleet of 1,000
/// devices had 1,000 tick threads waking 20 times a second, which starved everything else on two cores (the fleet
/// took 7 minutes to start). Devices are spread over the workers round-robin; a worker ticks each of its devices
/// in turn and sleeps until the next one is due. A tick that blocks (an MQTT publish waits for the broker's ack)
/// delays only the other devices of that worker, by that long.
/// </summary>
public sealed class TickScheduler
{
    public static readonly TickScheduler Shared = new(Math.Clamp(Environment.ProcessorCount * 4, 4, 16), TimeSpan.FromMilliseconds(50));

    private readonly Worker[] _workers;
    private int _next;

    public TickScheduler(int workers, TimeSpan period)
    {
        if (workers < 1) throw new ArgumentOutOfRangeException(nameof(workers), workers, "at least one worker");
        if (period <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(period), period, "period must be positive");
        Period = period;
        _workers = new Worker[workers];
        for (int i = 0; i < workers; i++) _workers[i] = new Worker(this, i);
    }

    public TimeSpan Period { get; }

    /// <summary>Calls <paramref name="tick"/> about every <see cref="Period"/> until the returned handle is disposed.
    /// The first call comes within a period. Exceptions from the tick are the caller's to catch; one that escapes is dropped.</summary>
    public IDisposable Add(Action tick)
    {
        ArgumentNullException.ThrowIfNull(tick);
        Worker w = _workers[(uint)Interlocked.Increment(ref _next) % (uint)_workers.Length];
        var entry = new Entry(tick, w);
        w.Add(entry);
        return entry;
    }

    private sealed class Entry(Action tick, Worker worker) : IDisposable
    {
        public readonly Action Tick = tick;
        public long Due;
        public volatile bool Removed;

        public void Dispose()
        {
            Removed = true;
            worker.Remove(this);
        }
    }

    private sealed class Worker
    {
        private readonly TickScheduler _owner;
        private readonly List<Entry> _entries = new();
        private Thread? _thread;
        private volatile Entry? _running;

        public Worker(TickScheduler owner, int index)
        {
            _owner = owner;
            Index = index;
        }

        public int Index { get; }

        public void Add(Entry e)
        {
            lock (_entries)
            {
                e.Due = Environment.TickCount64;
                _entries.Add(e);
                if (_thread == null)
                {
                    _thread = new Thread(Run) { IsBackground = true, Name = "device-tick-" + Index };
                    _thread.Start();
                }
            }
        }

        public void Remove(Entry e)
        {
            lock (_entries) _entries.Remove(e);
            // A device disposing from inside its own tick must not wait for itself; others wait until a running tick
            // of theirs has returned, so nothing ticks a disposed device.
            if (Thread.CurrentThread == _thread) return;
            while (ReferenceEquals(_running, e)) Thread.Sleep(1);
        }

        private void Run()
        {
            var due = new List<Entry>();
            long period = (long)_owner.Period.TotalMilliseconds;
            while (true)
            {
                long now = Environment.TickCount64, next = now + period;
                due.Clear();
                lock (_entries)
                {
                    // Entries due within half a period run now too: devices added at different times would otherwise
                    // keep their own phases and wake the worker once per device (a worker of 60 devices woke every
                    // millisecond; the waits cost an idle fleet of 1,000 a third of a core). Batched, a worker wakes
                    // about once a period; no tick comes more than half a period early.
                    long horizon = now + period / 2;
                    foreach (Entry e in _entries)
                    {
                        if (e.Due <= horizon) due.Add(e);
                        else next = Math.Min(next, e.Due);
                    }
                }
                foreach (Entry e in due)
                {
                    if (e.Removed) continue;
                    _running = e;
                    try
                    {
                        if (!e.Removed) e.Tick();
                    }
                    catch (Exception)
                    {
                        // the device's own tick logs its errors
                    }
                    finally
                    {
                        _running = null;
                    }
                    // One period after this batch woke (the batch keeps one phase), or after now when it ran late
                    // (no burst of catch-up ticks).
                    e.Due = Math.Max(now + period, Environment.TickCount64);
                    next = Math.Min(next, e.Due);
                }
                long wait = next - Environment.TickCount64;
                // A plain sleep: an event wait cost ~70 µs of CPU per wake-up here, most of an idle fleet's tick cost.
                // A device added meanwhile gets its first tick at the next wake-up (within a period).
                if (wait > 0) Thread.Sleep((int)Math.Min(wait, period));
            }
        }
    }
}
