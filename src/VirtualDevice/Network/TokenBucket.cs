namespace IotOta.VirtualDevice.Network;

/// <summary>
/// Limits a byte rate. Each caller reserves its bytes at once (the balance may go negative) and then waits until the
/// balance it left would have refilled, so callers on several threads together never exceed the rate (plus one burst).
/// A rate &lt;= 0, NaN or infinity means unlimited: Consume returns at once.
/// </summary>
public sealed class TokenBucket
{
    private const int MaxSleepStepMs = 10;

    /// <summary>How late a loaded host may wake an emulated sender after its wait (timer and scheduler slop) without
    /// the link losing that time; see <see cref="Serializer"/>.</summary>
    public static readonly TimeSpan HostSlop = TimeSpan.FromMilliseconds(50);

    private readonly TimeProvider _time;
    private readonly object _lock = new();
    private double _tokens;
    private long _last;
    private long _consumed;
    private readonly bool _creditWhileIdle;
    private bool _used;

    /// <param name="creditWhileIdle">False for an emulated link: a link idle longer than a burst takes to refill gets
    /// no credit for that time (it starts from empty, as at creation), so from its first byte on nothing passes
    /// faster than the rate and no transfer can beat the Kumar–Ross bound; the burst only absorbs jitter while busy.
    /// True (default): a classic token bucket that starts full and fills up while idle.</param>
    /// <summary>An emulated sender's serializer at <paramref name="bytesPerSecond"/>: no idle credit, no credit before
    /// its first byte, and a pause up to <paramref name="slop"/> between two sends keeps what refilled meanwhile — the
    /// time a loaded host takes to wake the sender after its wait is the host's, not the link's (a NIC with a queue
    /// sends back to back). From the first byte on nothing passes faster than the rate.</summary>
    public static TokenBucket Serializer(double bytesPerSecond, TimeSpan slop, TimeProvider? time = null)
        => new(bytesPerSecond, (int)Math.Clamp(bytesPerSecond * slop.TotalSeconds, 1, int.MaxValue), time, creditWhileIdle: false);

    public TokenBucket(double bytesPerSecond, int burstBytes, TimeProvider? time = null, bool creditWhileIdle = true)
    {
        _time = time ?? TimeProvider.System;
        BytesPerSecond = bytesPerSecond;
        IsUnlimited = LinkProfile.IsUnlimitedRate(bytesPerSecond);
        BurstBytes = Math.Max(1, burstBytes);
        _creditWhileIdle = creditWhileIdle;
        _tokens = creditWhileIdle ? BurstBytes : 0;
        _last = _time.GetTimestamp();
    }

    public double BytesPerSecond { get; }
    public int BurstBytes { get; }
    public bool IsUnlimited { get; }

    /// <summary>Bytes consumed so far (including calls that are still waiting).</summary>
    public long TotalConsumed => Interlocked.Read(ref _consumed);

    /// <summary>Blocks until <paramref name="bytes"/> may pass: one sleep for the whole wait on the system clock (a
    /// cancellation ends it at once), small steps on any other (a fake clock moves on its own). In 10 ms steps each of
    /// N = 1,000 pump threads woke ~33 times per 4 KiB copy at 100 kbit/s (Consume 14 % of the bench process in perf,
    /// thread switches the largest item); in one sleep the N = 1,000 bench in 63 groups took 38–39 CPU s instead of
    /// 53–55 (host 56–61 % busy instead of 84–87 %), and its median device finished at 27.2–27.5 s instead of
    /// 28.2–29.6 (3 runs each, alternating).</summary>
    public void Consume(int bytes, CancellationToken ct = default)
    {
        TimeSpan wait = Reserve(bytes);
        if (wait <= TimeSpan.Zero) return;
        long start = _time.GetTimestamp();
        while (true)
        {
            TimeSpan left = wait - _time.GetElapsedTime(start);
            if (left <= TimeSpan.Zero) return;
            if (ct.IsCancellationRequested)
            {
                Refund(bytes);
                ct.ThrowIfCancellationRequested();
            }
            int ms = (int)Math.Clamp(Math.Ceiling(left.TotalMilliseconds), 1, int.MaxValue);
            if (!ReferenceEquals(_time, TimeProvider.System)) Thread.Sleep(Math.Min(ms, MaxSleepStepMs)); // fake time moves on its own
            else if (ct.CanBeCanceled) ct.WaitHandle.WaitOne(ms);
            else Thread.Sleep(ms);
        }
    }

    /// <summary>Waits asynchronously until <paramref name="bytes"/> may pass.</summary>
    public async Task ConsumeAsync(int bytes, CancellationToken ct = default)
    {
        TimeSpan wait = Reserve(bytes);
        if (wait <= TimeSpan.Zero) return;
        long start = _time.GetTimestamp();
        try
        {
            while (true)
            {
                TimeSpan left = wait - _time.GetElapsedTime(start);
                if (left <= TimeSpan.Zero) return;
                await Task.Delay(left, _time, ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            Refund(bytes);
            throw;
        }
    }

    private TimeSpan Reserve(int bytes)
    {
        if (bytes < 0) throw new ArgumentOutOfRangeException(nameof(bytes), bytes, "byte count must not be negative");
        Interlocked.Add(ref _consumed, bytes);
        if (IsUnlimited || bytes == 0) return TimeSpan.Zero;
        lock (_lock)
        {
            Refill();
            _tokens -= bytes;
            if (_tokens >= 0) return TimeSpan.Zero;
            return TimeSpan.FromSeconds(-_tokens / BytesPerSecond);
        }
    }

    private void Refund(int bytes)
    {
        Interlocked.Add(ref _consumed, -bytes);
        lock (_lock)
        {
            Refill();
            _tokens = Math.Min(BurstBytes, _tokens + bytes);
        }
    }

    private void Refill()
    {
        long now = _time.GetTimestamp();
        double seconds = (double)(now - _last) / _time.TimestampFrequency;
        _last = now;
        bool first = !_used;
        _used = true;
        // an emulated link's first byte starts from empty however soon after creation it comes: the time before its
        // first use is idle time too (a link created just before a rollout must not bring a burst into it)
        if (first && !_creditWhileIdle) { _tokens = Math.Min(_tokens, 0); return; }
        if (seconds <= 0) return;
        double refilled = _tokens + seconds * BytesPerSecond;
        // an emulated link that sat idle past a full refill starts from empty: no credit for the idle time
        if (!_creditWhileIdle && refilled >= BurstBytes) _tokens = 0;
        else _tokens = Math.Min(BurstBytes, refilled);
    }
}
