namespace IotOta.VirtualDevice.Network;

/// <summary>
/// Limits a byte rate. Each caller reserves its bytes at once (the balance may go negative) and then waits until the
/// balance it left would have refilled, so callers on several threads together never exceed the rate (plus one burst).
/// A rate &lt;= 0, NaN or infinity means unlimited: Consume returns at once.
/// </summary>
public sealed class TokenBucket
{
    private const int MaxSleepStepMs = 10;

    private readonly TimeProvider _time;
    private readonly object _lock = new();
    private double _tokens;
    private long _last;
    private long _consumed;

    public TokenBucket(double bytesPerSecond, int burstBytes, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        BytesPerSecond = bytesPerSecond;
        IsUnlimited = LinkProfile.IsUnlimitedRate(bytesPerSecond);
        BurstBytes = Math.Max(1, burstBytes);
        _tokens = BurstBytes;
        _last = _time.GetTimestamp();
    }

    public double BytesPerSecond { get; }
    public int BurstBytes { get; }
    public bool IsUnlimited { get; }

    /// <summary>Bytes consumed so far (including calls that are still waiting).</summary>
    public long TotalConsumed => Interlocked.Read(ref _consumed);

    /// <summary>Blocks (sleeping in small steps) until <paramref name="bytes"/> may pass.</summary>
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
            Thread.Sleep((int)Math.Clamp(Math.Ceiling(left.TotalMilliseconds), 1, MaxSleepStepMs));
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
        if (seconds > 0) _tokens = Math.Min(BurstBytes, _tokens + seconds * BytesPerSecond);
    }
}
